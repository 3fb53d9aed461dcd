// PortForward over SPDY/3.1 (portforward.k8s.io): for every connection the
// client forwards it opens two streams with the same requestid header, an
// error stream and a data stream, naming the pod's port in the port header.
// Each pair gets a TCP connection made inside the pod's network namespace; a
// port that cannot be reached is reported on the error stream, and the
// session goes on.
#include <charconv>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "berth/stream/protocols.hpp"
#include "berth/stream/spdy_session.hpp"
#include "streaming/pod_connection.hpp"
#include "streaming/port_forward_relay.hpp"
#include "streaming/upgraded_connection.hpp"

namespace berth::daemon::streaming {

namespace {

using stream::SpdySession;
using stream::SpdyStream;

struct StreamPair {
    std::shared_ptr<SpdyStream> data;
    std::shared_ptr<SpdyStream> error;
};

std::optional<std::uint16_t> parse_port(const std::string& text) {
    unsigned int port = 0;
    const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (failure != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(port);
}

class SpdyPortForwarder {
public:
    SpdyPortForwarder(const StreamRequest& request, std::string netns)
        : request_(request), netns_(std::move(netns)) {}

    ~SpdyPortForwarder() {
        sockets_.shutdown_all();
        std::lock_guard lock(mutex_);
        for (auto& worker : workers_)
            worker.join();
    }

    // The session's stream handler (reader thread): pairs streams and starts
    // a forwarding thread for each complete pair.
    bool accept(std::shared_ptr<SpdyStream> stream) {
        const std::string type = stream->header(stream::kStreamTypeHeader);
        const std::string request_id = stream->header(stream::kRequestIdHeader);
        if ((type != stream::kStreamTypeData && type != stream::kStreamTypeError) ||
            request_id.empty()) {
            return false;
        }
        std::lock_guard lock(mutex_);
        StreamPair& pair = pending_[request_id];
        auto& slot = type == stream::kStreamTypeData ? pair.data : pair.error;
        if (slot)
            return false;  // a second stream of the same kind and request
        slot = std::move(stream);
        if (pair.data && pair.error) {
            workers_.emplace_back([this, ready = std::move(pair)] { forward(ready); });
            pending_.erase(request_id);
        }
        return true;
    }

private:
    void forward(const StreamPair& pair) {
        const std::string port_text = pair.data->header(stream::kPortHeader);
        const auto port = parse_port(port_text);
        std::string failure;
        if (!port) {
            failure = "invalid port \"" + port_text + "\"";
        } else if (!request_.ports.empty() &&
                   std::find(request_.ports.begin(), request_.ports.end(), *port) ==
                       request_.ports.end()) {
            failure = "port " + port_text + " was not requested for this session";
        }
        UniqueFd socket;
        if (failure.empty()) {
            try {
                socket = connect_in_pod(netns_, *port);
            } catch (const std::exception& error) {
                failure = error.what();
            }
        }
        if (!failure.empty()) {
            const std::uint16_t shown = port.value_or(0);
            spdlog::info("port-forward to pod {} port {}: {}", request_.sandbox_id, port_text,
                         failure);
            pair.error->write(forward_error(shown, failure));
            pair.error->close_write();
            pair.data->close_write();
            return;
        }
        sockets_.add(socket.get());
        const int fd = socket.get();
        std::thread to_pod([&] {
            char buffer[32 * 1024];
            for (;;) {
                const std::size_t got = pair.data->read(buffer, sizeof buffer);
                if (got == 0 || !send_to_pod(fd, std::string_view(buffer, got)))
                    break;
            }
            ::shutdown(fd, SHUT_WR);  // the client's end of input
        });
        pump_from_pod(fd, [&](std::string_view data) { return pair.data->write(data); });
        pair.data->close_write();
        to_pod.join();
        pair.error->close_write();
        sockets_.remove(fd);
    }

    const StreamRequest& request_;
    const std::string netns_;
    PodSockets sockets_;
    std::mutex mutex_;
    std::map<std::string, StreamPair> pending_;
    std::vector<std::thread> workers_;
};

}  // namespace

void serve_spdy_port_forward(UpgradedConnection connection, StreamBackend& backend) {
    const std::string netns = backend.pod_network_namespace(connection.request.sandbox_id);
    SpdySession session(connection.fd.release(), SpdySession::Role::Server, {},
                        std::move(connection.initial_input));
    {
        SpdyPortForwarder forwarder(connection.request, netns);
        session.set_stream_handler(
            [&forwarder](std::shared_ptr<SpdyStream> stream) { return forwarder.accept(stream); });
        session.start();
        // The client closes the connection when it stops forwarding.
        session.wait_closed();
    }
    session.close();
}

}  // namespace berth::daemon::streaming
