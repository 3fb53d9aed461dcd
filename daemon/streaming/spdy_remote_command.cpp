// Exec and Attach over SPDY/3.1, as kubelet serves them: the client opens one
// stream per stdio channel (header streamtype: error, stdin, stdout, stderr,
// resize), the session starts once every expected stream is there, and the
// outcome goes on the error stream.
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "berth/stream/protocols.hpp"
#include "berth/stream/spdy_session.hpp"
#include "streaming/remote_command_session.hpp"
#include "streaming/upgraded_connection.hpp"

namespace berth::daemon::streaming {

namespace {

using stream::SpdySession;
using stream::SpdyStream;

// kubelet gives a client this long to open its streams after the upgrade.
constexpr auto kStreamCreationTimeout = std::chrono::seconds(30);

class SpdyCommandStreams final : public RemoteCommandStreams {
public:
    SpdyCommandStreams(SpdySession& session, const StreamRequest& request, std::string protocol)
        : session_(session), protocol_(std::move(protocol)) {
        expected_ = {std::string(stream::kStreamTypeError)};
        if (request.stdin)
            expected_.insert(std::string(stream::kStreamTypeStdin));
        if (request.stdout)
            expected_.insert(std::string(stream::kStreamTypeStdout));
        if (request.stderr)
            expected_.insert(std::string(stream::kStreamTypeStderr));
        // Resizing came with v3.
        if (request.tty && protocol_ != stream::kRemoteCommandV1 &&
            protocol_ != stream::kRemoteCommandV2) {
            expected_.insert(std::string(stream::kStreamTypeResize));
        }
    }

    // The session's stream handler (reader thread): takes each expected
    // stream once.
    bool accept(std::shared_ptr<SpdyStream> stream) {
        const std::string type = stream->header(stream::kStreamTypeHeader);
        std::lock_guard lock(mutex_);
        if (!expected_.contains(type) || streams_.contains(type)) {
            spdlog::debug("streaming: refusing an unexpected {} stream", type);
            return false;
        }
        streams_[type] = std::move(stream);
        arrived_.notify_all();
        return true;
    }

    bool wait_for_streams() {
        const auto deadline = std::chrono::steady_clock::now() + kStreamCreationTimeout;
        std::unique_lock lock(mutex_);
        // Woken by each stream; the short steps notice a client that left.
        while (streams_.size() < expected_.size()) {
            if (session_.closed() || std::chrono::steady_clock::now() >= deadline)
                return false;
            arrived_.wait_for(lock, std::chrono::milliseconds(100));
        }
        return true;
    }

    bool has_stdin() const override { return stream(stream::kStreamTypeStdin) != nullptr; }

    std::size_t read_stdin(char* buffer, std::size_t size) override {
        const auto input = stream(stream::kStreamTypeStdin);
        return input ? input->read(buffer, size) : 0;
    }

    bool write_output(oci::OutputStream which, std::string_view data) override {
        const auto output = stream(which == oci::OutputStream::Stdout ? stream::kStreamTypeStdout
                                                                      : stream::kStreamTypeStderr);
        // Output the client did not ask for is dropped, not an error.
        return output == nullptr || output->write(data);
    }

    void close_outputs() override {
        for (const auto type : {stream::kStreamTypeStdout, stream::kStreamTypeStderr}) {
            if (const auto output = stream(type))
                output->close_write();
        }
    }

    std::optional<stream::TerminalSize> next_resize() override {
        const auto resize = stream(stream::kStreamTypeResize);
        if (!resize)
            return std::nullopt;
        char buffer[512];
        while (pending_sizes_.empty()) {
            const std::size_t got = resize->read(buffer, sizeof buffer);
            if (got == 0)
                return std::nullopt;
            try {
                for (const auto size : decoder_.feed(std::string_view(buffer, got)))
                    pending_sizes_.push_back(size);
            } catch (const std::exception& error) {
                spdlog::debug("streaming: dropping the resize stream: {}", error.what());
                resize->reset();
                return std::nullopt;
            }
        }
        const auto size = pending_sizes_.front();
        pending_sizes_.erase(pending_sizes_.begin());
        return size;
    }

    bool json_status() const override {
        return protocol_ == stream::kRemoteCommandV4 || protocol_ == stream::kRemoteCommandV5;
    }

    void write_status(std::string_view content) override {
        const auto error = stream(stream::kStreamTypeError);
        if (!error)
            return;
        if (!content.empty())
            error->write(content);
        error->close_write();
    }

    void wait_closed() override { session_.wait_closed(); }
    void shutdown() override { session_.close(); }

private:
    std::shared_ptr<SpdyStream> stream(std::string_view type) const {
        std::lock_guard lock(mutex_);
        const auto found = streams_.find(std::string(type));
        return found == streams_.end() ? nullptr : found->second;
    }

    SpdySession& session_;
    const std::string protocol_;
    std::set<std::string> expected_;
    mutable std::mutex mutex_;
    std::condition_variable arrived_;
    std::map<std::string, std::shared_ptr<SpdyStream>> streams_;
    stream::ResizeDecoder decoder_;  // used by the resize thread only
    std::vector<stream::TerminalSize> pending_sizes_;
};

}  // namespace

void serve_spdy_remote_command(UpgradedConnection connection, StreamBackend& backend) {
    SpdySession session(connection.fd.release(), SpdySession::Role::Server, {},
                        std::move(connection.initial_input));
    SpdyCommandStreams streams(session, connection.request, connection.protocol);
    session.set_stream_handler(
        [&streams](std::shared_ptr<SpdyStream> stream) { return streams.accept(stream); });
    session.start();
    if (!streams.wait_for_streams()) {
        spdlog::info("streaming: the client did not open its streams for {} in {}",
                     path_segment(connection.request.kind), connection.request.container_id);
        session.close();
        return;
    }
    open_and_run(backend, streams, connection.request);
}

}  // namespace berth::daemon::streaming
