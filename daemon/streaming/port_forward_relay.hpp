// The byte pump of one forwarded connection: the client's side (a SPDY
// stream or a WebSocket channel) on one end, the TCP socket into the pod on
// the other. Each direction half-closes the other side when it ends, so a
// request/response protocol sees its end of input.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "unique_fd.hpp"

namespace berth::daemon::streaming {

// Copies from the pod's socket to `send` until the socket or `send` ends.
void pump_from_pod(int socket, const std::function<bool(std::string_view)>& send);
// Writes `data` to the pod's socket; false once the socket is gone.
bool send_to_pod(int socket, std::string_view data);

// The pod sockets of one session, shut down together when the client goes
// so that every pump returns.
class PodSockets {
public:
    void add(int fd);
    void remove(int fd);
    void shutdown_all();

private:
    std::mutex mutex_;
    std::set<int> fds_;
    bool closed_ = false;
};

std::string forward_error(std::uint16_t port, const std::string& reason);

}  // namespace berth::daemon::streaming
