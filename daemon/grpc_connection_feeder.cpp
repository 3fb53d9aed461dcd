#include "grpc_connection_feeder.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>
#include <spdlog/spdlog.h>

namespace berth::daemon {

GrpcConnectionFeeder::GrpcConnectionFeeder(int listen_fd, grpc::Server& server)
    : listen_fd_(listen_fd), server_(server), wakeup_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!wakeup_) {
        throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    }
    thread_ = std::thread([this] { run(); });
}

GrpcConnectionFeeder::~GrpcConnectionFeeder() {
    stop();
}

void GrpcConnectionFeeder::stop() {
    if (!thread_.joinable()) {
        return;
    }
    std::uint64_t one = 1;
    if (write(wakeup_.get(), &one, sizeof(one)) != sizeof(one)) {
        spdlog::error("waking the accept thread failed: {}", std::strerror(errno));
    }
    thread_.join();
}

void GrpcConnectionFeeder::run() {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wakeup_.get(), POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            spdlog::error("poll on the API socket failed: {}", std::strerror(errno));
            return;
        }
        if (fds[1].revents != 0) {
            return;
        }
        int connection = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (connection < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            // Out of fds or memory: keep the daemon up and retry shortly
            // rather than spin on an error that will not clear at once.
            spdlog::warn("accept on the API socket failed: {}", std::strerror(errno));
            poll(&fds[1], 1, 100);
            continue;
        }
        // The server owns the connection from here on.
        grpc::AddInsecureChannelFromFd(&server_, connection);
    }
}

}  // namespace berth::daemon
