#include "berth/stream/remote_command_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "berth/stream/http_upgrade_client.hpp"
#include "berth/stream/protocols.hpp"
#include "berth/stream/spdy_session.hpp"
#include "berth/stream/websocket_connection.hpp"
#include "berth/stream/websocket_handshake.hpp"

namespace berth::stream {

namespace {

constexpr std::size_t kChunk = 32 * 1024;
constexpr auto kResizePollInterval = std::chrono::milliseconds(100);

// Writes all of `data` to a local fd; false once it is gone.
bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t written = ::write(fd, data.data(), data.size());
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        data.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
}

// Reads a local fd until end of file or until `stop` is set (checked every
// poll interval, so that a terminal nobody types into does not hold us up).
void pump_local_input(int fd, const std::atomic<bool>& stop,
                      const std::function<bool(std::string_view)>& send) {
    char buffer[kChunk];
    while (!stop) {
        pollfd ready{fd, POLLIN, 0};
        const int result = ::poll(&ready, 1, 100);
        if (result < 0 && errno == EINTR)
            continue;
        if (result < 0)
            return;
        if (result == 0)
            continue;
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || !send(std::string_view(buffer, static_cast<std::size_t>(got))))
            return;
    }
}

void pump_resizes(const RemoteCommandIo& io, const std::atomic<bool>& stop,
                  const std::function<bool(std::string_view)>& send) {
    std::optional<TerminalSize> last;
    while (!stop) {
        const auto size = io.next_resize();
        if (!size)
            return;
        if (size != last) {
            if (!send(encode_resize(*size)))
                return;
            last = size;
        }
        std::this_thread::sleep_for(kResizePollInterval);
    }
}

HttpUpgradeResponse upgrade(const std::string& url, const StreamClientOptions& options,
                            std::vector<std::pair<std::string, std::string>> headers,
                            bool websocket, const std::string& websocket_key = {}) {
    HttpUpgradeRequest request;
    request.url = url;
    // kubelet accepts either; crictl posts, browsers' WebSocket gets.
    request.method = websocket ? "GET" : "POST";
    request.headers = {{"Connection", "Upgrade"},
                       {"Upgrade", websocket ? "websocket" : std::string(kSpdyUpgrade)}};
    if (websocket) {
        request.headers.push_back({"Sec-WebSocket-Key", websocket_key});
        request.headers.push_back({"Sec-WebSocket-Version", "13"});
    }
    request.headers.insert(request.headers.end(), headers.begin(), headers.end());
    request.tls = options.tls;
    request.timeout = options.connect_timeout;
    HttpUpgradeResponse response = http_upgrade(request);
    if (response.status != 101) {
        std::string body = response.leftover;
        while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
            body.pop_back();
        throw HttpUpgradeError(
            "the streaming server refused the upgrade: " + std::to_string(response.status) + " " +
            response.reason + (body.empty() ? "" : ": " + body));
    }
    if (websocket && response.headers.get("Sec-WebSocket-Accept") !=
                         std::optional(websocket_accept_key(websocket_key))) {
        throw HttpUpgradeError("the streaming server's Sec-WebSocket-Accept does not match");
    }
    return response;
}

std::shared_ptr<SpdyStream> open(SpdySession& session, SpdyHeaders headers, const char* what) {
    auto stream = session.open_stream(headers);
    if (!stream) {
        throw HttpUpgradeError(std::string("the streaming server did not accept the ") + what +
                               " stream" + (session.error().empty() ? "" : ": " + session.error()));
    }
    return stream;
}

void drain_to(SpdyStream& stream, int fd) {
    char buffer[kChunk];
    for (;;) {
        const std::size_t got = stream.read(buffer, sizeof buffer);
        if (got == 0 || !write_all(fd, std::string_view(buffer, got)))
            return;
    }
}

std::string read_all(SpdyStream& stream) {
    std::string content;
    char buffer[4096];
    while (const std::size_t got = stream.read(buffer, sizeof buffer))
        content.append(buffer, got);
    return content;
}

CommandOutcome run_over_spdy(const std::string& url, const RemoteCommandIo& io,
                             const StreamClientOptions& options) {
    HttpUpgradeResponse response =
        upgrade(url, options,
                {{std::string(kStreamProtocolHeader), std::string(kRemoteCommandV4)},
                 {std::string(kStreamProtocolHeader), std::string(kRemoteCommandV3)},
                 {std::string(kStreamProtocolHeader), std::string(kRemoteCommandV2)},
                 {std::string(kStreamProtocolHeader), std::string(kRemoteCommandV1)}},
                false);
    const std::string protocol =
        response.headers.get(kStreamProtocolHeader).value_or(std::string(kRemoteCommandV1));
    SpdySession session(response.fd.release(), SpdySession::Role::Client, {},
                        std::move(response.leftover));
    session.start();
    const auto typed = [](std::string_view type) {
        return SpdyHeaders{{std::string(kStreamTypeHeader), std::string(type)}};
    };
    // kubelet's order: the error stream first, so that a failure to start
    // always has somewhere to go.
    auto error = open(session, typed(kStreamTypeError), "error");
    error->close_write();
    std::shared_ptr<SpdyStream> input, output, errors, resize;
    if (io.stdin_fd >= 0)
        input = open(session, typed(kStreamTypeStdin), "stdin");
    if (io.stdout_fd >= 0)
        output = open(session, typed(kStreamTypeStdout), "stdout");
    if (io.stderr_fd >= 0 && !io.tty)
        errors = open(session, typed(kStreamTypeStderr), "stderr");
    const bool can_resize = protocol == kRemoteCommandV4 || protocol == kRemoteCommandV3;
    if (io.tty && can_resize)
        resize = open(session, typed(kStreamTypeResize), "resize");

    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    if (input) {
        threads.emplace_back([&] {
            pump_local_input(io.stdin_fd, stop,
                             [&](std::string_view data) { return input->write(data); });
            input->close_write();
        });
    }
    if (resize && io.next_resize) {
        threads.emplace_back([&] {
            pump_resizes(io, stop, [&](std::string_view data) { return resize->write(data); });
        });
    }
    std::thread out_thread, err_thread;
    if (output)
        out_thread = std::thread([&] { drain_to(*output, io.stdout_fd); });
    if (errors)
        err_thread = std::thread([&] { drain_to(*errors, io.stderr_fd); });
    const std::string status = read_all(*error);
    // The server closes stdout and stderr before it reports the outcome.
    if (out_thread.joinable())
        out_thread.join();
    if (err_thread.joinable())
        err_thread.join();
    stop = true;
    session.close();
    for (auto& thread : threads)
        thread.join();
    return parse_command_outcome(status, protocol == kRemoteCommandV4);
}

CommandOutcome run_over_websocket(const std::string& url, const RemoteCommandIo& io,
                                  const StreamClientOptions& options) {
    const std::string key = make_websocket_key();
    std::string offered;
    for (const auto protocol : {kRemoteCommandV5, kRemoteCommandV4, kRemoteCommandV3,
                                kRemoteCommandV2, kRemoteCommandV1}) {
        offered += (offered.empty() ? "" : ", ") + std::string(protocol);
    }
    HttpUpgradeResponse response =
        upgrade(url, options, {{std::string(kWebSocketProtocolHeader), offered}}, true, key);
    const std::string protocol =
        response.headers.get(kWebSocketProtocolHeader).value_or(std::string(kRemoteCommandV1));
    WebSocketConnection socket(std::move(response.fd), WebSocketRole::Client,
                               std::move(response.leftover));
    const auto send_on = [&socket](char channel, std::string_view data) {
        std::string message(1, channel);
        message.append(data);
        return socket.send_binary(message);
    };
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    if (io.stdin_fd >= 0) {
        threads.emplace_back([&] {
            pump_local_input(io.stdin_fd, stop,
                             [&](std::string_view data) { return send_on(0, data); });
            // Only v5 can say that input ended (close channel 0).
            if (!stop && protocol == kRemoteCommandV5)
                socket.send_binary(std::string{static_cast<char>(255), 0});
        });
    }
    if (io.tty && io.next_resize) {
        threads.emplace_back([&] {
            pump_resizes(io, stop, [&](std::string_view data) { return send_on(4, data); });
        });
    }
    std::string status;
    while (auto message = socket.read_message()) {
        if (message->payload.empty())
            continue;
        const std::string_view data = std::string_view(message->payload).substr(1);
        switch (message->payload[0]) {
        case 1:
            if (io.stdout_fd >= 0)
                write_all(io.stdout_fd, data);
            break;
        case 2:
            if (io.stderr_fd >= 0)
                write_all(io.stderr_fd, data);
            break;
        case 3:
            status.append(data);
            break;
        default:
            break;
        }
    }
    stop = true;
    socket.shutdown();
    for (auto& thread : threads)
        thread.join();
    return parse_command_outcome(status,
                                 protocol == kRemoteCommandV4 || protocol == kRemoteCommandV5);
}

// Copies between a local socket and the remote side until both directions
// ended; `send` carries local data out, `receive` returns remote data ("" at
// its end), `finish_sending` says local input ended.
void relay_local(int local_fd, const std::function<bool(std::string_view)>& send,
                 const std::function<void()>& finish_sending,
                 const std::function<std::optional<std::string>()>& receive) {
    std::atomic<bool> stop{false};
    std::thread up([&] {
        pump_local_input(local_fd, stop, send);
        finish_sending();
    });
    while (const auto data = receive()) {
        if (!write_all(local_fd, *data))
            break;
    }
    ::shutdown(local_fd, SHUT_WR);
    stop = true;
    up.join();
    ::close(local_fd);
}

}  // namespace

CommandOutcome run_remote_command(const std::string& url, const RemoteCommandIo& io,
                                  const StreamClientOptions& options) {
    return options.websocket ? run_over_websocket(url, io, options)
                             : run_over_spdy(url, io, options);
}

struct PortForwardSession::State {
    HttpUpgradeResponse response;  // keeps a TLS relay alive
    std::unique_ptr<SpdySession> session;
    std::atomic<int> next_request{0};
};

PortForwardSession::PortForwardSession(const std::string& url, const StreamClientOptions& options)
    : state_(std::make_unique<State>()) {
    state_->response = upgrade(
        url, options, {{std::string(kStreamProtocolHeader), std::string(kPortForwardV1)}}, false);
    state_->session =
        std::make_unique<SpdySession>(state_->response.fd.release(), SpdySession::Role::Client,
                                      SpdySessionOptions{}, std::move(state_->response.leftover));
    state_->session->start();
}

PortForwardSession::~PortForwardSession() {
    state_->session->close();
}

bool PortForwardSession::closed() const {
    return state_->session->closed();
}

std::string PortForwardSession::forward(int local_fd, std::uint16_t port) {
    const std::string request = std::to_string(state_->next_request++);
    const auto headers = [&](std::string_view type) {
        return SpdyHeaders{{std::string(kStreamTypeHeader), std::string(type)},
                           {std::string(kPortHeader), std::to_string(port)},
                           {std::string(kRequestIdHeader), request}};
    };
    std::shared_ptr<SpdyStream> error, data;
    try {
        error = open(*state_->session, headers(kStreamTypeError), "error");
        error->close_write();
        data = open(*state_->session, headers(kStreamTypeData), "data");
    } catch (const std::exception& failure) {
        ::close(local_fd);
        return failure.what();
    }
    std::string message;
    std::thread errors([&] { message = read_all(*error); });
    relay_local(
        local_fd, [&](std::string_view bytes) { return data->write(bytes); },
        [&] { data->close_write(); },
        [&]() -> std::optional<std::string> {
            char buffer[kChunk];
            const std::size_t got = data->read(buffer, sizeof buffer);
            if (got == 0)
                return std::nullopt;
            return std::string(buffer, got);
        });
    errors.join();
    return message;
}

std::string forward_over_websocket(const std::string& url, int local_fd, std::uint16_t port,
                                   const StreamClientOptions& options) {
    const std::string key = make_websocket_key();
    HttpUpgradeResponse response;
    try {
        response =
            upgrade(url + "?ports=" + std::to_string(port), options,
                    {{std::string(kWebSocketProtocolHeader),
                      std::string(kPortForwardWebSocketV4) + ", " + std::string(kPortForwardV1)}},
                    true, key);
    } catch (...) {
        ::close(local_fd);
        throw;
    }
    WebSocketConnection socket(std::move(response.fd), WebSocketRole::Client,
                               std::move(response.leftover));
    std::string message;
    // The first message on each channel is the port number, not data.
    bool data_prefix_seen = false, error_prefix_seen = false;
    relay_local(
        local_fd,
        [&](std::string_view bytes) {
            std::string framed(1, '\0');
            framed.append(bytes);
            return socket.send_binary(framed);
        },
        [] {},
        [&]() -> std::optional<std::string> {
            while (auto incoming = socket.read_message()) {
                if (incoming->payload.empty())
                    continue;
                const char channel = incoming->payload[0];
                std::string body = incoming->payload.substr(1);
                bool& prefix_seen = channel == 0 ? data_prefix_seen : error_prefix_seen;
                if (!prefix_seen) {
                    prefix_seen = true;
                    body.erase(0, std::min<std::size_t>(2, body.size()));
                }
                if (channel == 1) {
                    message += body;
                    if (!body.empty()) {
                        socket.close();
                        return std::nullopt;
                    }
                } else if (channel == 0 && !body.empty()) {
                    return body;
                }
            }
            return std::nullopt;
        });
    socket.close();
    return message;
}

}  // namespace berth::stream
