#include "ctl_fifo.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace berth::conmon {

namespace {

constexpr int kResize = 1;
constexpr int kReopenLog = 2;

}  // namespace

CtlFifo::CtlFifo(EventLoop& loop, std::string path) : loop_(loop), path_(std::move(path)) {
    ::unlink(path_.c_str());  // a stale fifo from an earlier monitor
    if (::mkfifo(path_.c_str(), 0600) != 0) {
        return;
    }
    // Read-write: we hold a writer ourselves, so the fifo never reports EOF
    // when berthd closes its end between commands.
    fd_.reset(::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (fd_ && !loop_.add(fd_.get(), EPOLLIN, [this](std::uint32_t) { read_commands(); })) {
        fd_.reset();
    }
}

CtlFifo::~CtlFifo() {
    if (fd_) {
        loop_.remove(fd_.get());
    }
    ::unlink(path_.c_str());
}

void CtlFifo::read_commands() {
    char buffer[512];
    for (;;) {
        const ssize_t count = ::read(fd_.get(), buffer, sizeof buffer);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            break;
        }
        partial_line_.append(buffer, static_cast<size_t>(count));
    }
    std::string::size_type newline;
    while ((newline = partial_line_.find('\n')) != std::string::npos) {
        run(partial_line_.substr(0, newline));
        partial_line_.erase(0, newline + 1);
    }
    if (partial_line_.size() > 4096) {
        partial_line_.clear();  // garbage without newlines: don't grow forever
    }
}

void CtlFifo::run(const std::string& line) {
    int type = 0;
    int height = 0;
    int width = 0;
    if (std::sscanf(line.c_str(), "%d %d %d", &type, &height, &width) != 3) {
        return;
    }
    if (type == kResize && on_resize && height >= 0 && width >= 0 && height <= 0xffff &&
        width <= 0xffff) {
        on_resize(static_cast<unsigned short>(height), static_cast<unsigned short>(width));
    } else if (type == kReopenLog && on_reopen_log) {
        on_reopen_log();
    }
}

}  // namespace berth::conmon
