// When berthd gives freed heap memory back to the kernel: the timing rule of
// the idle trimmer (idle_trimmer.hpp), kept apart from its thread and clock so
// that it can be tested with made-up time points.
//
// A trim is due `quiet` after the last activity (an RPC starting or ending, a
// streaming session ending), so that a burst is followed by one trim once it
// is over. kubelet never lets berthd be quiet that long (it lists pods and
// containers every second), so a trim is also due `max_interval` after the
// first activity since the last trim: under steady traffic, one trim per
// interval. Without any activity since the last trim nothing is due: nothing
// new was freed, and an idle daemon is not woken up.
#pragma once

#include <chrono>
#include <optional>

namespace berth::daemon::memory {

class TrimSchedule {
public:
    using Clock = std::chrono::steady_clock;

    TrimSchedule(Clock::duration quiet, Clock::duration max_interval)
        : quiet_(quiet), max_interval_(max_interval) {}

    void on_activity(Clock::time_point now);
    // When the next trim is due; nullopt while nothing happened since the
    // last one.
    std::optional<Clock::time_point> due() const;
    void on_trimmed();

private:
    Clock::duration quiet_;
    Clock::duration max_interval_;
    std::optional<Clock::time_point> first_activity_;  // since the last trim
    Clock::time_point last_activity_{};
};

}  // namespace berth::daemon::memory
