#include "streaming/pod_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace berth::daemon::streaming {

namespace {

// Connects with a time limit; the socket is blocking again afterwards.
int connect_loopback(int family, std::uint16_t port, std::chrono::milliseconds timeout,
                     int& error) {
    UniqueFd socket(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket) {
        error = errno;
        return -1;
    }
    sockaddr_storage address{};
    socklen_t length = 0;
    if (family == AF_INET) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        length = sizeof *v4;
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        v6->sin6_addr = in6addr_loopback;
        length = sizeof *v6;
    }
    if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
        if (errno != EINPROGRESS) {
            error = errno;
            return -1;
        }
        pollfd ready{socket.get(), POLLOUT, 0};
        const int result = ::poll(&ready, 1, static_cast<int>(timeout.count()));
        if (result <= 0) {
            error = result == 0 ? ETIMEDOUT : errno;
            return -1;
        }
        int status = 0;
        socklen_t size = sizeof status;
        ::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &status, &size);
        if (status != 0) {
            error = status;
            return -1;
        }
    }
    ::fcntl(socket.get(), F_SETFL, ::fcntl(socket.get(), F_GETFL) & ~O_NONBLOCK);
    return socket.release();
}

}  // namespace

UniqueFd connect_in_pod(const std::string& netns_path, std::uint16_t port,
                        std::chrono::milliseconds timeout) {
    int connected = -1;
    std::string failure;
    // setns() changes only the calling thread's namespace; a thread of its
    // own keeps berthd's other threads in the host's. A socket stays in the
    // namespace it was made in after the thread ends.
    std::thread worker([&] {
        if (!netns_path.empty()) {
            UniqueFd netns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!netns || ::setns(netns.get(), CLONE_NEWNET) != 0) {
                failure = "entering the pod's network namespace " + netns_path + ": " +
                          std::strerror(errno);
                return;
            }
        }
        int error = 0;
        connected = connect_loopback(AF_INET, port, timeout, error);
        if (connected >= 0)
            return;
        int error6 = 0;
        connected = connect_loopback(AF_INET6, port, timeout, error6);
        if (connected < 0) {
            failure = "dial tcp4 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(error);
        }
    });
    worker.join();
    if (connected < 0)
        throw std::runtime_error(failure);
    return UniqueFd(connected);
}

}  // namespace berth::daemon::streaming
