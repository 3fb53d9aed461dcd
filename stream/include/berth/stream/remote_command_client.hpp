// The client side of kubelet's streaming API, as crictl and kubectl speak it:
// exec/attach (remote command) and port forwarding over SPDY/3.1 or
// WebSocket, with local file descriptors as the ends. berthctl and the
// integration tests use it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "berth/stream/remote_command_status.hpp"
#include "berth/stream/tls_relay.hpp"

namespace berth::stream {

struct StreamClientOptions {
    bool websocket = false;  // else SPDY/3.1, what crictl uses by default
    TlsClientConfig tls;
    std::chrono::milliseconds connect_timeout{30'000};
};

struct RemoteCommandIo {
    int stdin_fd = -1;  // -1: no input stream
    int stdout_fd = -1;
    int stderr_fd = -1;  // -1 with a tty
    bool tty = false;
    // Blocks until the local terminal changes size; nullopt once it never
    // will. Called on a thread of its own; the first size goes out at once.
    std::function<std::optional<TerminalSize>()> next_resize;
};

// Runs an exec or attach session at `url` (from the Exec or Attach RPC)
// until the server ends it, and returns what the error stream said: success,
// an exit code, or a failure message. Throws HttpUpgradeError when the
// connection or upgrade fails (the server's refusal text included).
CommandOutcome run_remote_command(const std::string& url, const RemoteCommandIo& io,
                                  const StreamClientOptions& options = {});

// Port forwarding over one SPDY session (the URL's token is single-use):
// each local connection becomes a pair of streams. forward() may run in
// several threads at once.
class PortForwardSession {
public:
    // Connects and upgrades; throws HttpUpgradeError.
    PortForwardSession(const std::string& url, const StreamClientOptions& options = {});
    ~PortForwardSession();
    PortForwardSession(const PortForwardSession&) = delete;
    PortForwardSession& operator=(const PortForwardSession&) = delete;

    // Forwards `local_fd` (a connected socket, closed when done) to `port`
    // in the pod until either side ends. Returns "" then, else the server's
    // error (e.g. the port refused the connection) or why the streams could
    // not be opened.
    std::string forward(int local_fd, std::uint16_t port);
    bool closed() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

// The WebSocket form: one connection (and so one URL) per forwarded
// connection. Same results as PortForwardSession::forward.
std::string forward_over_websocket(const std::string& url, int local_fd, std::uint16_t port,
                                   const StreamClientOptions& options = {});

}  // namespace berth::stream
