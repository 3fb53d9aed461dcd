// PortForward over WebSocket, as kubelet serves it: the ports come in the
// query (?ports=80,443); port i has data channel 2i and error channel 2i+1,
// and the first message on each carries the port number (two bytes, little
// endian). One connection into the pod per port for the session's life.
#include <atomic>
#include <charconv>
#include <thread>

#include <spdlog/spdlog.h>

#include "berth/stream/websocket_connection.hpp"
#include "streaming/pod_connection.hpp"
#include "streaming/port_forward_relay.hpp"
#include "streaming/upgraded_connection.hpp"
#include "streaming/websocket_channels.hpp"

namespace berth::daemon::streaming {

namespace {

// kubelet's limit too: channel numbers are one byte, two per port.
constexpr std::size_t kMaxPorts = 127;

std::vector<std::uint16_t> parse_ports(const std::string& text, std::string& failure) {
    std::vector<std::uint16_t> ports;
    std::size_t start = 0;
    while (start <= text.size() && failure.empty()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string::npos)
            comma = text.size();
        const std::string word = text.substr(start, comma - start);
        unsigned int port = 0;
        const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), port);
        if (error != std::errc() || end != word.data() + word.size() || port == 0 || port > 65535) {
            failure = "invalid port \"" + word + "\" in the ports query parameter";
        } else {
            ports.push_back(static_cast<std::uint16_t>(port));
        }
        start = comma + 1;
    }
    if (failure.empty() && ports.empty())
        failure = "the ports query parameter names no port";
    if (failure.empty() && ports.size() > kMaxPorts)
        failure = "at most " + std::to_string(kMaxPorts) + " ports per connection";
    return ports;
}

std::string port_prefix(std::uint16_t port) {
    return {static_cast<char>(port & 0xff), static_cast<char>(port >> 8)};
}

}  // namespace

void serve_websocket_port_forward(UpgradedConnection connection, StreamBackend& backend) {
    stream::WebSocketConnection socket(std::move(connection.fd), stream::WebSocketRole::Server,
                                       std::move(connection.initial_input));
    std::string failure;
    const auto found = connection.query.find("ports");
    const auto ports =
        found == connection.query.end()
            ? (failure = "the ports query parameter is missing", std::vector<std::uint16_t>{})
            : parse_ports(found->second, failure);
    if (!failure.empty()) {
        socket.close(stream::close_code::kPolicyViolation, failure);
        return;
    }
    const std::string netns = backend.pod_network_namespace(connection.request.sandbox_id);

    WebSocketChannels channels(socket);
    std::vector<std::uint8_t> data_channels;
    for (std::size_t i = 0; i < ports.size(); ++i)
        data_channels.push_back(static_cast<std::uint8_t>(2 * i));
    PodSockets sockets;
    std::vector<UniqueFd> pod_sockets(ports.size());
    std::vector<std::thread> pumps;
    for (std::size_t i = 0; i < ports.size(); ++i) {
        const auto data_channel = static_cast<std::uint8_t>(2 * i);
        channels.send(data_channel, port_prefix(ports[i]));
        channels.send(static_cast<std::uint8_t>(data_channel + 1), port_prefix(ports[i]));
        try {
            pod_sockets[i] = connect_in_pod(netns, ports[i]);
        } catch (const std::exception& error) {
            spdlog::info("port-forward to pod {} port {}: {}", connection.request.sandbox_id,
                         ports[i], error.what());
            channels.send(static_cast<std::uint8_t>(data_channel + 1),
                          forward_error(ports[i], error.what()));
            continue;
        }
        sockets.add(pod_sockets[i].get());
    }
    // Started after the connections: the reader needs to know its channels.
    channels.start(data_channels);
    // A channel cannot be closed on its own: once every pod connection has
    // ended, the WebSocket closes, which is how the client learns it.
    std::atomic<std::size_t> open_connections{0};
    for (const auto& socket_fd : pod_sockets)
        open_connections += socket_fd ? 1 : 0;
    if (open_connections == 0)
        channels.close();
    for (std::size_t i = 0; i < ports.size(); ++i) {
        if (!pod_sockets[i])
            continue;
        const int fd = pod_sockets[i].get();
        const auto data_channel = static_cast<std::uint8_t>(2 * i);
        pumps.emplace_back([&channels, &open_connections, fd, data_channel] {
            pump_from_pod(fd,
                          [&](std::string_view data) { return channels.send(data_channel, data); });
            if (--open_connections == 0)
                channels.close();
        });
        pumps.emplace_back([&channels, fd, data_channel] {
            while (const auto data = channels.receive(data_channel)) {
                if (!send_to_pod(fd, *data))
                    break;
            }
            ::shutdown(fd, SHUT_WR);
        });
    }
    channels.wait_closed();
    sockets.shutdown_all();
    for (auto& pump : pumps)
        pump.join();
}

}  // namespace berth::daemon::streaming
