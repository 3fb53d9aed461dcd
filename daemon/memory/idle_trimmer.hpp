// Gives the memory berthd freed after a burst (many pods, execs, streams)
// back to the kernel once the burst is over. glibc keeps freed memory in its
// arenas for reuse and returns only the top of the main heap by itself; the
// rest stays resident until malloc_trim() is called (see malloc_release.hpp).
//
// Activity is reported by the gRPC interceptor (every call's start and end)
// and by the streaming server (every session's end); a thread of its own
// runs `trim` when TrimSchedule says so. The trim runs while calls may be in
// flight: malloc_trim() is thread-safe, it only holds each arena's lock in
// turn for the time it takes to walk it (well under a millisecond once the
// first trim has run), and waiting for "no call in flight" would never trim
// under a kubelet that keeps a GetContainerEvents stream open.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "memory/trim_schedule.hpp"

namespace berth::daemon::memory {

class IdleTrimmer {
public:
    using Clock = TrimSchedule::Clock;

    // The quiet period and the longest interval berthd uses (see the .cpp
    // for why these values).
    static const Clock::duration kQuiet;
    static const Clock::duration kMaxInterval;

    // `trim` runs on the trimmer's thread. The first trim is due `quiet`
    // after construction: what starting up freed goes back too.
    IdleTrimmer(Clock::duration quiet, Clock::duration max_interval, std::function<void()> trim);
    ~IdleTrimmer();
    IdleTrimmer(const IdleTrimmer&) = delete;
    IdleTrimmer& operator=(const IdleTrimmer&) = delete;

    // Something happened that may have allocated and freed memory. Cheap: a
    // lock held for a few instructions, a wake-up only after idleness.
    void activity();
    // How many trims ran.
    std::uint64_t trims() const;

private:
    void run();

    std::function<void()> trim_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    TrimSchedule schedule_;
    bool stopping_ = false;
    std::uint64_t trims_ = 0;
    std::thread thread_;  // last: started once everything above exists
};

}  // namespace berth::daemon::memory
