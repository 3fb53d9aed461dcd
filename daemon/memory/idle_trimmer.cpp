#include "memory/idle_trimmer.hpp"

#include <exception>

#include <spdlog/spdlog.h>

namespace berth::daemon::memory {

// Five seconds without a call: a burst (a kubectl rollout, critest, a
// benchmark) is over. Trimming sooner would only risk trimming between the
// calls of one burst, which re-faults the pages at once.
const IdleTrimmer::Clock::duration IdleTrimmer::kQuiet = std::chrono::seconds(5);
// Under kubelet's steady polling berthd is never quiet for five seconds; a
// trim a minute then costs well under a millisecond of CPU and bounds how
// long freed memory stays resident.
const IdleTrimmer::Clock::duration IdleTrimmer::kMaxInterval = std::chrono::seconds(60);

IdleTrimmer::IdleTrimmer(Clock::duration quiet, Clock::duration max_interval,
                         std::function<void()> trim)
    : trim_(std::move(trim)), schedule_(quiet, max_interval) {
    schedule_.on_activity(Clock::now());
    thread_ = std::thread([this] { run(); });
}

IdleTrimmer::~IdleTrimmer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

void IdleTrimmer::activity() {
    bool was_idle = false;
    {
        std::lock_guard lock(mutex_);
        was_idle = !schedule_.due();
        schedule_.on_activity(Clock::now());
    }
    // A trim already due stays due at the same time or earlier: only the
    // first activity after a trim changes what the thread waits for.
    if (was_idle)
        changed_.notify_one();
}

std::uint64_t IdleTrimmer::trims() const {
    std::lock_guard lock(mutex_);
    return trims_;
}

void IdleTrimmer::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const auto due = schedule_.due();
        if (!due) {
            changed_.wait(lock, [this] { return stopping_ || schedule_.due().has_value(); });
            continue;
        }
        if (Clock::now() < *due) {
            changed_.wait_until(lock, *due);
            continue;
        }
        // Cleared before trimming: activity during the trim asks for the next one.
        schedule_.on_trimmed();
        lock.unlock();
        try {
            trim_();
        } catch (const std::exception& error) {
            spdlog::warn("giving freed memory back failed: {}", error.what());
        }
        lock.lock();
        ++trims_;
    }
}

}  // namespace berth::daemon::memory
