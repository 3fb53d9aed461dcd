#include "streaming/port_forward_relay.hpp"

#include <cerrno>

namespace berth::daemon::streaming {

namespace {
constexpr std::size_t kChunk = 32 * 1024;
}  // namespace

void pump_from_pod(int socket, const std::function<bool(std::string_view)>& send) {
    char buffer[kChunk];
    for (;;) {
        const ssize_t got = ::recv(socket, buffer, sizeof buffer, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || !send(std::string_view(buffer, static_cast<std::size_t>(got))))
            return;
    }
}

bool send_to_pod(int socket, std::string_view data) {
    while (!data.empty()) {
        const ssize_t sent = ::send(socket, data.data(), data.size(), MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return false;
        data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

void PodSockets::add(int fd) {
    std::lock_guard lock(mutex_);
    fds_.insert(fd);
    if (closed_)
        ::shutdown(fd, SHUT_RDWR);
}

void PodSockets::remove(int fd) {
    std::lock_guard lock(mutex_);
    fds_.erase(fd);
}

void PodSockets::shutdown_all() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (const int fd : fds_)
        ::shutdown(fd, SHUT_RDWR);
}

std::string forward_error(std::uint16_t port, const std::string& reason) {
    // kubelet's wording, which kubectl and crictl print as they get it.
    return "an error occurred forwarding " + std::to_string(port) + " -> " + std::to_string(port) +
           ": " + reason;
}

}  // namespace berth::daemon::streaming
