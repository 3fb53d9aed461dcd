// A client connection after the HTTP upgrade: the socket (ours to read,
// write and shut down), bytes the HTTP server read past the request head,
// the negotiated subprotocol and what the token stood for.
#pragma once

#include <map>
#include <string>

#include "streaming/stream_backend.hpp"
#include "streaming/stream_request.hpp"
#include "unique_fd.hpp"

namespace berth::daemon::streaming {

enum class Transport { Spdy, WebSocket };

struct UpgradedConnection {
    UniqueFd fd;
    std::string initial_input;
    Transport transport = Transport::Spdy;
    std::string protocol;                      // the negotiated subprotocol
    std::map<std::string, std::string> query;  // e.g. WebSocket port forward's "ports"
    StreamRequest request;
};

// One per transport and kind; each returns when the session is over.
void serve_spdy_remote_command(UpgradedConnection connection, StreamBackend& backend);
void serve_websocket_remote_command(UpgradedConnection connection, StreamBackend& backend);
void serve_spdy_port_forward(UpgradedConnection connection, StreamBackend& backend);
void serve_websocket_port_forward(UpgradedConnection connection, StreamBackend& backend);

}  // namespace berth::daemon::streaming
