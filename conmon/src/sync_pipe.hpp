// The one-line JSON report berthd waits for on the sync pipe.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "berth/conmon/unique_fd.hpp"

namespace berth::conmon {

class SyncPipe {
public:
    explicit SyncPipe(int fd) : fd_(fd) {}

    // `{"pid":N}\n`, then the pipe is closed.
    void report_pid(pid_t pid);
    // `{"pid":-1,"message":"..."}\n`, then the pipe is closed.
    void report_error(std::string_view message);

private:
    void send_and_close(std::string_view line);
    UniqueFd fd_;
};

}  // namespace berth::conmon
