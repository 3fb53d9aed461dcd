#include "stdin_writer.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

namespace berth::conmon {

StdinWriter::StdinWriter(EventLoop& loop, UniqueFd fd, std::size_t backlog_limit)
    : loop_(loop), fd_(std::move(fd)), backlog_limit_(backlog_limit) {}

StdinWriter::~StdinWriter() {
    watch_writable(false);
}

void StdinWriter::write(std::string_view data) {
    if (!is_open()) {
        return;  // no stdin (or already closed): input is dropped, as conmon does
    }
    backlog_.append(data);
    flush();
}

void StdinWriter::close_when_drained() {
    closing_ = true;
    if (backlog_.empty()) {
        close_now();
    }
}

void StdinWriter::flush() {
    const bool was_full = !has_room();
    std::size_t done = 0;
    while (fd_ && done < backlog_.size()) {
        const ssize_t written = ::write(fd_.get(), backlog_.data() + done, backlog_.size() - done);
        if (written > 0) {
            done += static_cast<std::size_t>(written);
            continue;
        }
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written < 0 && errno == EAGAIN) {
            break;
        }
        // The reading side is gone (EPIPE): nothing will ever read stdin.
        backlog_.clear();
        done = 0;
        close_now();
        return;
    }
    backlog_.erase(0, done);
    watch_writable(!backlog_.empty());
    if (backlog_.empty() && closing_) {
        close_now();
        return;
    }
    if (was_full && has_room() && on_room) {
        on_room();
    }
}

void StdinWriter::close_now() {
    watch_writable(false);
    backlog_.clear();
    fd_.reset();
    if (on_room) {
        on_room();  // paused clients may read again (their input is dropped)
    }
}

void StdinWriter::watch_writable(bool watch) {
    if (watch == watching_ || !fd_) {
        return;
    }
    if (watch) {
        watching_ = loop_.add(fd_.get(), EPOLLOUT, [this](std::uint32_t) { flush(); });
    } else {
        loop_.remove(fd_.get());
        watching_ = false;
    }
}

}  // namespace berth::conmon
