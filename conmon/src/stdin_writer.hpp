// Writes what attach clients send to the container's stdin without ever
// blocking the monitor: a bounded backlog, flushed when the fd is writable.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "berth/conmon/unique_fd.hpp"
#include "event_loop.hpp"

namespace berth::conmon {

class StdinWriter {
public:
    StdinWriter(EventLoop& loop, UniqueFd fd, std::size_t backlog_limit);
    ~StdinWriter();
    StdinWriter(const StdinWriter&) = delete;
    StdinWriter& operator=(const StdinWriter&) = delete;

    bool is_open() const { return fd_.valid() && !closing_; }
    // False while the backlog is full: callers stop reading input until
    // `on_room` is called.
    bool has_room() const { return backlog_.size() < backlog_limit_; }
    void write(std::string_view data);
    // Closes stdin (the container sees EOF) once the backlog is written.
    void close_when_drained();

    std::function<void()> on_room;

private:
    void flush();
    void close_now();
    void watch_writable(bool watch);

    EventLoop& loop_;
    UniqueFd fd_;
    std::size_t backlog_limit_;
    std::string backlog_;
    bool watching_ = false;
    bool closing_ = false;
};

}  // namespace berth::conmon
