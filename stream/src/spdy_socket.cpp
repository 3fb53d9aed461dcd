#include "spdy_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace berth::stream::detail {
namespace {

std::string errno_text(const char* what, int error) {
    return std::string(what) + ": " + std::strerror(error);
}

int poll_timeout(std::chrono::milliseconds timeout) {
    if (timeout.count() < 0)
        return -1;
    return static_cast<int>(std::min<std::chrono::milliseconds::rep>(timeout.count(), INT32_MAX));
}

}  // namespace

SpdySocket::SpdySocket(int fd) : fd_(fd) {
    int flags = fcntl(fd_, F_GETFL);
    if (flags < 0 || fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0) {
        int error = errno;
        ::close(fd_);
        throw std::system_error(error, std::generic_category(), "SPDY socket: fcntl");
    }
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        int error = errno;
        ::close(fd_);
        throw std::system_error(error, std::generic_category(), "SPDY socket: eventfd");
    }
}

SpdySocket::~SpdySocket() {
    close();
    ::close(wake_fd_);
}

SpdySocket::Result SpdySocket::read_some(char* buffer, std::size_t size,
                                         std::chrono::milliseconds timeout) {
    for (;;) {
        pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        int ready = ::poll(fds, 2, poll_timeout(timeout));
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return {Status::Failed, 0, errno_text("poll", errno)};
        }
        if (ready == 0)
            return {Status::TimedOut, 0, "read timed out"};
        if (fds[1].revents != 0)
            return {Status::Woken, 0, {}};
        ssize_t n = ::recv(fd_, buffer, size, 0);
        if (n > 0)
            return {Status::Ok, static_cast<std::size_t>(n), {}};
        if (n == 0)
            return {Status::Eof, 0, {}};
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        return {Status::Failed, 0, errno_text("recv", errno)};
    }
}

SpdySocket::Result SpdySocket::write_all(std::string_view first, std::string_view second,
                                         std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0)
        timeout = std::chrono::milliseconds(-1);
    std::size_t total = first.size() + second.size();
    std::size_t written = 0;
    while (written < total) {
        iovec parts[2];
        int count = 0;
        if (written < first.size()) {
            parts[count++] = {const_cast<char*>(first.data() + written), first.size() - written};
            if (!second.empty()) {
                parts[count++] = {const_cast<char*>(second.data()), second.size()};
            }
        } else {
            std::size_t at = written - first.size();
            parts[count++] = {const_cast<char*>(second.data() + at), second.size() - at};
        }
        msghdr message{};
        message.msg_iov = parts;
        message.msg_iovlen = static_cast<std::size_t>(count);
        // MSG_NOSIGNAL: a peer that went away must fail this write, not
        // kill the daemon with SIGPIPE.
        ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
        if (n >= 0) {
            written += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return {Status::Failed, written, errno_text("send", errno)};
        }
        pollfd fds[2] = {{fd_, POLLOUT, 0}, {wake_fd_, POLLIN, 0}};
        int ready = ::poll(fds, 2, poll_timeout(timeout));
        if (ready < 0 && errno != EINTR)
            return {Status::Failed, written, errno_text("poll", errno)};
        if (ready == 0) {
            return {Status::TimedOut, written,
                    "write timed out after " + std::to_string(timeout.count()) +
                        " ms without progress"};
        }
        if (ready > 0 && fds[1].revents != 0)
            return {Status::Woken, written, {}};
    }
    return {Status::Ok, written, {}};
}

void SpdySocket::wake() {
    std::uint64_t one = 1;
    // Cannot fail short of a counter overflow, which 2^64 wakes would need.
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void SpdySocket::shutdown_write() {
    if (fd_ >= 0)
        ::shutdown(fd_, SHUT_WR);
}

void SpdySocket::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

}  // namespace berth::stream::detail
