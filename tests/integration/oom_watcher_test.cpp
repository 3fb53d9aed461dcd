// berth-conmon's OOM watcher against a real cgroup v1 memory controller,
// including a cgroup that disappears before the kill could be read from it,
// as a systemd scope does the moment its last process is gone.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "oom_watcher.hpp"

namespace berth::test {
namespace {

namespace fs = std::filesystem;
using conmon::OomWatcher;

constexpr const char* kMemoryHierarchy = "/sys/fs/cgroup/memory";
constexpr std::size_t kLimit = 16 << 20;
constexpr std::size_t kHog = 64 << 20;

bool write_text(const fs::path& file, const std::string& text) {
    std::ofstream out(file);
    out << text;
    out.flush();
    return static_cast<bool>(out);
}

bool readable_within(int fd, int millis) {
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, millis) == 1;
}

class OomWatcherTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0 || !fs::exists(fs::path(kMemoryHierarchy) / "cgroup.event_control")) {
            GTEST_SKIP() << "SKIPPED: needs root and the cgroup v1 memory controller at "
                         << kMemoryHierarchy << " (the v2 watcher runs in node.cgroup2-vm)";
        }
        cgroup_ =
            fs::path(kMemoryHierarchy) / ("berth-oom-watcher-test-" + std::to_string(::getpid()));
        ASSERT_EQ(::mkdir(cgroup_.c_str(), 0755), 0) << std::strerror(errno);
        ASSERT_TRUE(write_text(cgroup_ / "memory.limit_in_bytes", std::to_string(kLimit)));
        if (fs::exists(cgroup_ / "memory.memsw.limit_in_bytes")) {
            ASSERT_TRUE(
                write_text(cgroup_ / "memory.memsw.limit_in_bytes", std::to_string(kLimit)));
        }
    }

    void TearDown() override {
        if (child_ > 0) {
            ::kill(child_, SIGKILL);
            reap();
        }
        if (!cgroup_.empty()) {
            ::rmdir(cgroup_.c_str());
        }
    }

    // A child in the test cgroup, held until the watcher is in place; then
    // it touches `bytes` of memory and exits 0.
    void start_child(std::size_t bytes) {
        int go[2];
        ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
        child_ = ::fork();
        ASSERT_GE(child_, 0);
        if (child_ == 0) {
            char byte = 0;
            ::close(go[1]);
            if (::read(go[0], &byte, 1) != 1) {
                ::_exit(2);
            }
            if (bytes > 0) {
                auto* memory = static_cast<char*>(std::malloc(bytes));
                if (memory == nullptr) {
                    ::_exit(3);
                }
                std::memset(memory, 1, bytes);
                ::_exit(memory[bytes - 1] == 1 ? 0 : 4);
            }
            ::_exit(0);
        }
        ::close(go[0]);
        ASSERT_TRUE(write_text(cgroup_ / "cgroup.procs", std::to_string(child_)));
        watcher_ = OomWatcher::for_process(child_);
        ASSERT_NE(watcher_, nullptr);
        ASSERT_EQ(::write(go[1], "x", 1), 1);
        ::close(go[1]);
    }

    int reap() {
        int status = 0;
        const pid_t pid = ::waitpid(child_, &status, 0);
        child_ = -1;
        return pid > 0 ? status : -1;
    }

    // What systemd does to an emptied scope.
    void remove_cgroup() {
        ASSERT_EQ(::rmdir(cgroup_.c_str()), 0) << std::strerror(errno);
        cgroup_.clear();
    }

    fs::path cgroup_;
    pid_t child_ = -1;
    std::unique_ptr<OomWatcher> watcher_;
};

TEST_F(OomWatcherTest, AKillCountedInTheCgroupIsReportedOnce) {
    start_child(kHog);
    const int status = reap();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    EXPECT_TRUE(watcher_->check());
    EXPECT_FALSE(watcher_->check());
}

TEST_F(OomWatcherTest, AnOomSignalledBeforeTheCgroupWasRemovedIsReported) {
    // With the OOM killer held off, the OOM is signalled and no kill is
    // counted: the state a monitor sees when it reads the signal before the
    // kernel counts the kill.
    ASSERT_TRUE(write_text(cgroup_ / "memory.oom_control", "1"));
    start_child(kHog);
    ASSERT_TRUE(readable_within(watcher_->fd(), 10000)) << "no OOM signal";
    EXPECT_FALSE(watcher_->check()) << "no kill counted yet";
    ::kill(child_, SIGKILL);
    reap();
    remove_cgroup();
    EXPECT_TRUE(watcher_->check());
}

TEST_F(OomWatcherTest, ACgroupRemovedWithoutAnOomIsNoKill) {
    start_child(0);
    const int status = reap();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    remove_cgroup();
    // v1 signals the removal of the cgroup to its OOM listeners.
    ASSERT_TRUE(readable_within(watcher_->fd(), 10000)) << "no signal for the removal";
    EXPECT_FALSE(watcher_->check());
}

TEST_F(OomWatcherTest, AnExitWithinTheLimitIsNoKill) {
    start_child(kLimit / 4);
    const int status = reap();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_FALSE(watcher_->check());
}

}  // namespace
}  // namespace berth::test
