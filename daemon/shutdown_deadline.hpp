// Bounds berthd's shutdown. gRPC cancels the calls still running when the
// grace ends, but a synchronous handler is not interrupted by that: it runs
// on until its own work ends (a stop waiting out a container's grace period,
// an exec, a pull from a registry that does not answer), and the server's
// Shutdown() returns only then. So if the orderly shutdown has not finished
// by the deadline, the process ends there, as a crash would but with its log
// flushed: every record on disk is written atomically and restore takes
// over from whatever a cut-off call left (docs/operations.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace berth::daemon {

class ShutdownDeadline {
public:
    // From now on the process exits (code 0) at `deadline`, unless this
    // object is destroyed before.
    explicit ShutdownDeadline(std::chrono::steady_clock::time_point deadline);
    ~ShutdownDeadline();
    ShutdownDeadline(const ShutdownDeadline&) = delete;
    ShutdownDeadline& operator=(const ShutdownDeadline&) = delete;

    // What runs just before the process exits at the deadline, on this
    // object's thread: ending what the cut-off calls started. Empty to run
    // nothing (once no call is left).
    void set_before_exit(std::function<void()> hook);

private:
    void run(std::chrono::steady_clock::time_point deadline);

    std::mutex mutex_;
    std::condition_variable finished_;
    bool done_ = false;
    std::function<void()> before_exit_;
    std::thread thread_;
};

}  // namespace berth::daemon
