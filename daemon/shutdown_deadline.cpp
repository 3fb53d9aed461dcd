#include "shutdown_deadline.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace berth::daemon {

ShutdownDeadline::ShutdownDeadline(std::chrono::steady_clock::time_point deadline)
    : thread_([this, deadline] { run(deadline); }) {}

ShutdownDeadline::~ShutdownDeadline() {
    {
        std::lock_guard lock(mutex_);
        done_ = true;
    }
    finished_.notify_all();
    thread_.join();
}

void ShutdownDeadline::set_before_exit(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    before_exit_ = std::move(hook);
}

void ShutdownDeadline::run(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (finished_.wait_until(lock, deadline, [this] { return done_; }))
        return;
    spdlog::warn(
        "shutdown: calls still running at the end of the grace are cut off; berthd exits now "
        "(containers keep running, the next start restores them)");
    if (before_exit_) {
        try {
            before_exit_();
        } catch (const std::exception& error) {
            spdlog::error("shutdown: {}", error.what());
        }
    }
    spdlog::info("berthd stopped");
    spdlog::default_logger()->flush();
    // Not exit(): destructors and atexit handlers would join the very
    // threads that are still busy.
    std::_Exit(0);
}

}  // namespace berth::daemon
