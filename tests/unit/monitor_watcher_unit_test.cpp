// MonitorWatcher with real child processes standing in for monitors: a death
// is reported at once and settled a grace later, a busy container is asked
// again, a forgotten monitor is never settled, and pidfds are let go.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "container/monitor_watcher.hpp"

using berth::daemon::UniqueFd;
using berth::daemon::container::MonitorWatcher;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kGrace = 500ms;

// A child that sleeps until killed, reaped when the test ends.
class Child {
public:
    Child() {
        pid_ = ::fork();
        if (pid_ == 0) {
            ::pause();
            ::_exit(0);
        }
    }
    ~Child() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    UniqueFd pidfd() const {
        return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    }
    void kill() const { ::kill(pid_, SIGKILL); }

private:
    pid_t pid_ = -1;
};

// What the watcher reported, with when.
struct Reports {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::pair<std::string, Clock::time_point>> died, settled;
    std::atomic<int> refusals{0};  // settle answers "busy" this many times first

    MonitorWatcher::Callback on_died() {
        return [this](const std::string& id) {
            std::lock_guard lock(mutex);
            died.emplace_back(id, Clock::now());
            changed.notify_all();
        };
    }
    MonitorWatcher::Settle on_settle() {
        return [this](const std::string& id) {
            std::lock_guard lock(mutex);
            settled.emplace_back(id, Clock::now());
            changed.notify_all();
            return refusals-- <= 0;
        };
    }
    bool wait_settled(std::size_t count, std::chrono::milliseconds limit = 5s) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, limit, [&] { return settled.size() >= count; });
    }
};

// The watcher lets go of a monitor just after its settle callback returned.
bool eventually(const std::function<bool()>& condition) {
    const auto deadline = Clock::now() + 2s;
    while (!condition() && Clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    return condition();
}

int open_pidfds() {
    int count = 0;
    for (int fd = 0; fd < 1024; ++fd) {
        char link[64];
        const auto path = "/proc/self/fd/" + std::to_string(fd);
        const auto length = ::readlink(path.c_str(), link, sizeof(link) - 1);
        if (length > 0 &&
            std::string(link, static_cast<std::size_t>(length)) == "anon_inode:[pidfd]")
            ++count;
    }
    return count;
}

TEST(MonitorWatcherUnit, ADeathIsReportedAtOnceAndSettledAGraceLater) {
    Reports reports;
    MonitorWatcher watcher(kGrace, reports.on_died(), reports.on_settle());
    Child dying, living;
    watcher.watch("dying", dying.pidfd());
    watcher.watch("living", living.pidfd());
    EXPECT_EQ(watcher.watched(), 2u);
    EXPECT_FALSE(watcher.exited("dying"));

    const auto killed = Clock::now();
    dying.kill();
    ASSERT_TRUE(reports.wait_settled(1));
    // Settled: let go of; the living one is still watched.
    EXPECT_TRUE(eventually([&] { return watcher.watched() == 1; }));
    EXPECT_FALSE(watcher.exited("dying"));
    EXPECT_FALSE(watcher.exited("living"));
    std::lock_guard lock(reports.mutex);
    ASSERT_EQ(reports.died.size(), 1u);
    EXPECT_EQ(reports.died[0].first, "dying");
    // At once: well before the grace is over.
    EXPECT_LT(reports.died[0].second - killed, kGrace);
    ASSERT_EQ(reports.settled.size(), 1u);
    EXPECT_EQ(reports.settled[0].first, "dying");
    EXPECT_GE(reports.settled[0].second - killed, kGrace);
}

TEST(MonitorWatcherUnit, ABusyContainerIsAskedAgainAfterAnotherGrace) {
    Reports reports;
    reports.refusals = 2;
    MonitorWatcher watcher(kGrace, reports.on_died(), reports.on_settle());
    Child child;
    watcher.watch("busy", child.pidfd());
    child.kill();
    ASSERT_TRUE(reports.wait_settled(1));
    // Until it is settled, a stop can see that the monitor is gone.
    EXPECT_TRUE(watcher.exited("busy"));
    ASSERT_TRUE(reports.wait_settled(3));
    EXPECT_TRUE(eventually([&] { return watcher.watched() == 0; }));
    std::lock_guard lock(reports.mutex);
    EXPECT_EQ(reports.died.size(), 1u);
    EXPECT_EQ(reports.settled.size(), 3u);
    EXPECT_GE(reports.settled[2].second - reports.settled[0].second, 2 * kGrace);
}

TEST(MonitorWatcherUnit, AForgottenMonitorIsNeverSettledAndItsPidfdIsClosed) {
    const int before = open_pidfds();
    Reports reports;
    {
        MonitorWatcher watcher(kGrace, reports.on_died(), reports.on_settle());
        Child removed, replaced;
        watcher.watch("removed", removed.pidfd());
        watcher.watch("replaced", replaced.pidfd());
        watcher.watch("replaced", replaced.pidfd());  // watched anew: the first fd goes
        EXPECT_EQ(open_pidfds(), before + 2);
        removed.kill();
        std::this_thread::sleep_for(50ms);
        watcher.forget("removed");  // before its grace is over
        EXPECT_FALSE(reports.wait_settled(1, 3 * kGrace));
        EXPECT_EQ(open_pidfds(), before + 1);
    }
    EXPECT_EQ(open_pidfds(), before);
}

}  // namespace
