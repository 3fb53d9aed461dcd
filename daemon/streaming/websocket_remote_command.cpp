// Exec and Attach over WebSocket (channel.k8s.io to v5.channel.k8s.io): one
// connection, every message tagged with its channel byte.
#include <spdlog/spdlog.h>

#include "berth/stream/protocols.hpp"
#include "berth/stream/websocket_connection.hpp"
#include "streaming/remote_command_session.hpp"
#include "streaming/upgraded_connection.hpp"
#include "streaming/websocket_channels.hpp"

namespace berth::daemon::streaming {

namespace {

enum Channel : std::uint8_t { kStdin = 0, kStdout = 1, kStderr = 2, kError = 3, kResize = 4 };

class WebSocketCommandStreams final : public RemoteCommandStreams {
public:
    WebSocketCommandStreams(WebSocketChannels& channels, const StreamRequest& request,
                            std::string protocol)
        : channels_(channels), request_(request), protocol_(std::move(protocol)) {}

    bool has_stdin() const override { return request_.stdin; }

    std::size_t read_stdin(char* buffer, std::size_t size) override {
        while (pending_input_.empty()) {
            auto data = channels_.receive(kStdin);
            if (!data)
                return 0;
            pending_input_ = std::move(*data);
        }
        const std::size_t count = std::min(size, pending_input_.size());
        pending_input_.copy(buffer, count);
        pending_input_.erase(0, count);
        return count;
    }

    bool write_output(oci::OutputStream stream, std::string_view data) override {
        const bool wanted = stream == oci::OutputStream::Stdout ? request_.stdout : request_.stderr;
        return !wanted ||
               channels_.send(stream == oci::OutputStream::Stdout ? kStdout : kStderr, data);
    }

    void close_outputs() override {}

    std::optional<stream::TerminalSize> next_resize() override {
        while (pending_sizes_.empty()) {
            const auto data = channels_.receive(kResize);
            if (!data)
                return std::nullopt;
            try {
                for (const auto size : decoder_.feed(*data))
                    pending_sizes_.push_back(size);
            } catch (const std::exception& error) {
                spdlog::debug("streaming: ignoring the resize channel: {}", error.what());
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
        if (!content.empty() || json_status())
            channels_.send(kError, content);
    }

    void wait_closed() override { channels_.wait_closed(); }
    void shutdown() override { channels_.close(); }

private:
    WebSocketChannels& channels_;
    const StreamRequest& request_;
    const std::string protocol_;
    std::string pending_input_;      // input thread only
    stream::ResizeDecoder decoder_;  // resize thread only
    std::vector<stream::TerminalSize> pending_sizes_;
};

}  // namespace

void serve_websocket_remote_command(UpgradedConnection connection, StreamBackend& backend) {
    stream::WebSocketConnection socket(std::move(connection.fd), stream::WebSocketRole::Server,
                                       std::move(connection.initial_input));
    WebSocketChannels channels(socket);
    channels.start({kStdin, kResize});
    WebSocketCommandStreams streams(channels, connection.request, connection.protocol);
    open_and_run(backend, streams, connection.request);
}

}  // namespace berth::daemon::streaming
