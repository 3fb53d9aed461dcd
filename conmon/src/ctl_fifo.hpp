// The control fifo berthd writes to: lines `<type> <height> <width>\n`,
// type 1 resizes the terminal, type 2 reopens the log file.
#pragma once

#include <functional>
#include <string>

#include "berth/conmon/unique_fd.hpp"
#include "event_loop.hpp"

namespace berth::conmon {

class CtlFifo {
public:
    // Creates the fifo at `path` (0600); check `valid()`.
    CtlFifo(EventLoop& loop, std::string path);
    ~CtlFifo();
    CtlFifo(const CtlFifo&) = delete;
    CtlFifo& operator=(const CtlFifo&) = delete;

    bool valid() const { return fd_.valid(); }

    std::function<void(unsigned short height, unsigned short width)> on_resize;
    std::function<void()> on_reopen_log;

private:
    void read_commands();
    void run(const std::string& line);

    EventLoop& loop_;
    std::string path_;
    UniqueFd fd_;
    std::string partial_line_;
};

}  // namespace berth::conmon
