// The idle trimmer: its timing rule with made-up time points, its thread
// with short real periods (assertions only say "eventually" and "never
// without activity", so that a loaded machine cannot fail them).
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "memory/idle_trimmer.hpp"
#include "memory/trim_schedule.hpp"

namespace berth::daemon::memory {
namespace {

using namespace std::chrono_literals;
using Clock = TrimSchedule::Clock;

const Clock::time_point t0 = Clock::time_point{} + 1000s;

TEST(TrimSchedule, NothingIsDueWithoutActivity) {
    TrimSchedule schedule(5s, 60s);
    EXPECT_FALSE(schedule.due().has_value());
}

TEST(TrimSchedule, DueAQuietPeriodAfterTheLastActivity) {
    TrimSchedule schedule(5s, 60s);
    schedule.on_activity(t0);
    schedule.on_activity(t0 + 2s);
    schedule.on_activity(t0 + 3s);
    ASSERT_TRUE(schedule.due().has_value());
    EXPECT_EQ(*schedule.due(), t0 + 8s);
}

TEST(TrimSchedule, ActivityOlderThanTheLastDoesNotMoveItBack) {
    TrimSchedule schedule(5s, 60s);
    schedule.on_activity(t0 + 3s);
    schedule.on_activity(t0 + 1s);  // a thread that read the clock earlier
    EXPECT_EQ(*schedule.due(), t0 + 8s);
}

TEST(TrimSchedule, SteadyActivityStillTrimsOncePerInterval) {
    TrimSchedule schedule(5s, 60s);
    // A call every second, as kubelet's relisting does: never quiet.
    for (int second = 0; second <= 100; ++second)
        schedule.on_activity(t0 + std::chrono::seconds(second));
    EXPECT_EQ(*schedule.due(), t0 + 60s);
}

TEST(TrimSchedule, ATrimClearsItUntilTheNextActivity) {
    TrimSchedule schedule(5s, 60s);
    schedule.on_activity(t0);
    schedule.on_trimmed();
    EXPECT_FALSE(schedule.due().has_value());
    // The interval counts from the first activity after the trim, not from
    // before it: a burst after a long idle spell is not trimmed at its start.
    schedule.on_activity(t0 + 600s);
    EXPECT_EQ(*schedule.due(), t0 + 605s);
    for (int second = 601; second <= 700; ++second)
        schedule.on_activity(t0 + std::chrono::seconds(second));
    EXPECT_EQ(*schedule.due(), t0 + 660s);
}

// Polls `predicate` for up to `timeout`.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (predicate())
            return true;
        std::this_thread::sleep_for(5ms);
    }
    return predicate();
}

TEST(IdleTrimmer, TrimsOnceAfterStartingUpAndThenWaitsForActivity) {
    std::atomic<int> trims{0};
    IdleTrimmer trimmer(20ms, 10s, [&trims] { ++trims; });
    ASSERT_TRUE(eventually([&] { return trims == 1; }));
    // No activity: no second trim, however long it stays idle.
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(trims, 1);
    EXPECT_EQ(trimmer.trims(), 1u);
}

TEST(IdleTrimmer, TrimsAgainOnceActivityHasStopped) {
    std::atomic<int> trims{0};
    IdleTrimmer trimmer(20ms, 10s, [&trims] { ++trims; });
    ASSERT_TRUE(eventually([&] { return trims == 1; }));
    trimmer.activity();
    ASSERT_TRUE(eventually([&] { return trims == 2; }));
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(trims, 2);
}

TEST(IdleTrimmer, TrimsDuringActivityThatNeverStops) {
    std::atomic<int> trims{0};
    // The quiet period is never reached: activity every 2 ms against 10 s.
    IdleTrimmer trimmer(10s, 100ms, [&trims] { ++trims; });
    const auto until = Clock::now() + 5s;
    while (trims < 2 && Clock::now() < until) {
        trimmer.activity();
        std::this_thread::sleep_for(2ms);
    }
    EXPECT_GE(trims, 2);
}

TEST(IdleTrimmer, ATrimThatThrowsDoesNotStopTheTrimmer) {
    std::atomic<int> calls{0};
    IdleTrimmer trimmer(10ms, 10s, [&calls] {
        ++calls;
        throw std::runtime_error("no memory to count with");
    });
    ASSERT_TRUE(eventually([&] { return calls == 1; }));
    trimmer.activity();
    EXPECT_TRUE(eventually([&] { return calls == 2; }));
}

TEST(IdleTrimmer, StopsPromptlyWhileATrimIsFarAway) {
    const auto started = Clock::now();
    {
        IdleTrimmer trimmer(1h, 1h, [] {});
        trimmer.activity();
    }
    EXPECT_LT(Clock::now() - started, 5s);
}

}  // namespace
}  // namespace berth::daemon::memory
