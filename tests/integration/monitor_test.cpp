// A container's monitor (berth-conmon) killed under a running container:
// berthd notices within a second or two, ends the container and records exit
// code 255 with a message naming the lost monitor, publishes the STOPPED
// event, and StopContainer and RemoveContainer then return at once and leave
// nothing behind. The same for a monitor watched again after a restart, and
// for one that died while berthd was down.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "child_process.hpp"
#include "container_event_stream.hpp"
#include "cri_session.hpp"
#include "cri_test.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::ContainerEventStream;
using berth::test::CriSession;
using berth::test::CriTest;
using berth::test::read_file;
using berth::test::run_command;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

// How soon berthd must have settled a container whose monitor died.
constexpr auto kNoticeBound = 3s;

// Whether `pid` has ended: gone, or a zombie nobody reaped yet (the
// container's process is reparented when its monitor dies).
bool process_ended(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        return true;
    const auto after_comm = line.rfind(')');
    return after_comm != std::string::npos && line.substr(after_comm + 2, 1) == "Z";
}

class MonitorTest : public CriTest {
protected:
    static void SetUpTestSuite() { start_registry({"busybox:multi"}); }

    void SetUp() override {
        start_daemon({}, {"busybox:multi"});
        pod_ = cri_->run_pod("monitor");
    }
    // The pidfds berthd holds: one per watched monitor, none left over.
    int pidfds_held() {
        int count = 0;
        const auto fds = "/proc/" + std::to_string(daemon_->process().pid()) + "/fd";
        std::error_code ignored;
        for (const auto& fd : fs::directory_iterator(fds, ignored)) {
            if (fs::read_symlink(fd.path(), ignored).string() == "anon_inode:[pidfd]")
                ++count;
        }
        return count;
    }

    // A fresh session after a restart (the pod's config is kept by the
    // first one, which created the containers).
    void connect() { cri_ = std::make_unique<CriSession>(*daemon_); }

    std::string run_sleeper(const std::string& name) {
        return cri_->run(
            pod_, CriSession::container(name, reference("busybox:multi"), {"sleep", "1000"}));
    }

    // The container's berth-conmon, found by its command line (never by
    // name alone: other berthds run beside this one).
    pid_t monitor_of(const std::string& id) {
        const auto found = run_command("pgrep -f '[b]erth-conmon --cid " + id + " '");
        EXPECT_EQ(found.exit_code, 0) << "no monitor for " << id;
        return static_cast<pid_t>(std::atoi(found.output.c_str()));
    }

    pid_t process_of(const std::string& id) {
        const auto info = nlohmann::json::parse(cri_->status(id, true).info().at("info"));
        return info.at("pid").get<pid_t>();
    }

    // Polls ContainerStatus until the container has exited, at most `limit`.
    v1::ContainerStatus wait_exited(const std::string& id, std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        v1::ContainerStatus current;
        do {
            current = cri_->status(id).status();
            if (current.state() == v1::CONTAINER_EXITED)
                break;
            std::this_thread::sleep_for(50ms);
        } while (std::chrono::steady_clock::now() < deadline);
        return current;
    }

    // What a container whose monitor (pid `monitor`) died must show.
    static void expect_lost_monitor(const v1::ContainerStatus& status, pid_t monitor,
                                    const std::string& fate) {
        EXPECT_EQ(status.state(), v1::CONTAINER_EXITED);
        EXPECT_EQ(status.exit_code(), 255);
        EXPECT_EQ(status.reason(), "Error");
        EXPECT_NE(status.message().find("monitor berth-conmon (pid " + std::to_string(monitor) +
                                        ") died"),
                  std::string::npos)
            << status.message();
        EXPECT_NE(status.message().find(fate), std::string::npos) << status.message();
        EXPECT_GT(status.finished_at(), status.started_at());
    }

    // StopContainer and RemoveContainer answer at once, and nothing of the
    // container is left: no runtime state, no monitor directory, no mount.
    void expect_prompt_stop_and_clean_remove(const std::string& id) {
        auto begin = std::chrono::steady_clock::now();
        EXPECT_TRUE(cri_->stop(id, 30).ok());
        EXPECT_LT(std::chrono::steady_clock::now() - begin, 2s);
        begin = std::chrono::steady_clock::now();
        EXPECT_TRUE(cri_->remove(id).ok());
        EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
        const auto listed =
            run_command("runc --root " + daemon_->runtime_root("runc") + " list -q 2>/dev/null");
        EXPECT_EQ(listed.output.find(id), std::string::npos) << listed.output;
        EXPECT_FALSE(fs::exists(daemon_->dir() / ("run/containers/" + id)));
        EXPECT_FALSE(fs::exists(daemon_->dir() / ("run/exits/" + id)));
        EXPECT_EQ(read_file("/proc/self/mountinfo").find(id), std::string::npos);
    }

    std::string pod_;
};

TEST_F(MonitorTest, AKilledMonitorEndsItsContainerWithinSeconds) {
    const auto id = run_sleeper("orphan");
    ASSERT_FALSE(id.empty());
    const auto bystander = run_sleeper("bystander");
    const pid_t monitor = monitor_of(id);
    const pid_t process = process_of(id);
    ASSERT_GT(monitor, 0);
    ASSERT_GT(process, 0);
    EXPECT_EQ(pidfds_held(), 2);
    ContainerEventStream events(cri_->runtime());

    const auto killed = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(monitor, SIGKILL), 0);
    const auto status = wait_exited(id, kNoticeBound);
    EXPECT_LE(std::chrono::steady_clock::now() - killed, kNoticeBound);
    expect_lost_monitor(status, monitor, "the container was killed");
    EXPECT_TRUE(process_ended(process)) << "the container's process " << process << " runs on";

    // GetContainerEvents says so as for any exit.
    const auto seen = events.of(id, 1, 5s);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].container_event_type(), v1::CONTAINER_STOPPED_EVENT);
    // Stats follow the record: the container is no longer counted running.
    v1::ListContainersRequest running;
    running.mutable_filter()->mutable_state()->set_state(v1::CONTAINER_RUNNING);
    v1::ListContainersResponse listed;
    auto context = berth::test::deadline_context();
    ASSERT_TRUE(cri_->runtime().ListContainers(context.get(), running, &listed).ok());
    ASSERT_EQ(listed.containers_size(), 1);
    EXPECT_EQ(listed.containers(0).id(), bystander);

    expect_prompt_stop_and_clean_remove(id);
    // The other container and its monitor are untouched.
    EXPECT_EQ(cri_->status(bystander).status().state(), v1::CONTAINER_RUNNING);
    EXPECT_EQ(pidfds_held(), 1);
    // A monitor that ends with its container is let go as well.
    ASSERT_TRUE(cri_->stop(bystander, 10).ok());
    EXPECT_EQ(cri_->status(bystander).status().exit_code(), 143);
    const auto deadline = std::chrono::steady_clock::now() + kNoticeBound;
    while (pidfds_held() != 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    EXPECT_EQ(pidfds_held(), 0);
}

TEST_F(MonitorTest, AStopRightAfterTheMonitorDiedDoesNotWaitForAnExitFile) {
    const auto id = run_sleeper("hurried");
    ASSERT_FALSE(id.empty());
    const pid_t monitor = monitor_of(id);
    ASSERT_EQ(::kill(monitor, SIGKILL), 0);
    const auto begin = std::chrono::steady_clock::now();
    ASSERT_TRUE(cri_->stop(id, 10).ok());
    EXPECT_LT(std::chrono::steady_clock::now() - begin, kNoticeBound);
    const auto status = cri_->status(id).status();
    EXPECT_EQ(status.state(), v1::CONTAINER_EXITED);
    EXPECT_EQ(status.exit_code(), 255);
    EXPECT_NE(status.message().find("berth-conmon (pid " + std::to_string(monitor) + ") died"),
              std::string::npos)
        << status.message();
    expect_prompt_stop_and_clean_remove(id);
}

TEST_F(MonitorTest, AMonitorIsWatchedAgainAfterARestart) {
    const auto id = run_sleeper("restored");
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    connect();
    ASSERT_EQ(cri_->status(id).status().state(), v1::CONTAINER_RUNNING);
    EXPECT_EQ(pidfds_held(), 1);
    const pid_t monitor = monitor_of(id);
    const pid_t process = process_of(id);
    ContainerEventStream events(cri_->runtime());

    const auto killed = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(monitor, SIGKILL), 0);
    const auto status = wait_exited(id, kNoticeBound);
    EXPECT_LE(std::chrono::steady_clock::now() - killed, kNoticeBound);
    expect_lost_monitor(status, monitor, "the container was killed");
    EXPECT_TRUE(process_ended(process));
    const auto seen = events.of(id, 1, 5s);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].container_event_type(), v1::CONTAINER_STOPPED_EVENT);
    expect_prompt_stop_and_clean_remove(id);
}

TEST_F(MonitorTest, AMonitorThatDiedWhileBerthdWasDownHasItsContainerEndedAtRestore) {
    const auto id = run_sleeper("unattended");
    ASSERT_FALSE(id.empty());
    const pid_t monitor = monitor_of(id);
    const pid_t process = process_of(id);
    daemon_->process().signal(SIGKILL);
    daemon_->process().wait_for_exit(10s);
    ASSERT_EQ(::kill(monitor, SIGKILL), 0);
    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    connect();
    expect_lost_monitor(cri_->status(id).status(), monitor, "the container was killed");
    EXPECT_TRUE(process_ended(process)) << "the container's process " << process << " runs on";
    expect_prompt_stop_and_clean_remove(id);
}

TEST_F(MonitorTest, AMonitorPidTakenByAnotherProcessIsNotMistakenForTheMonitor) {
    const auto id = run_sleeper("reused");
    ASSERT_FALSE(id.empty());
    const pid_t process = process_of(id);
    daemon_->process().signal(SIGKILL);
    daemon_->process().wait_for_exit(10s);
    ASSERT_EQ(::kill(monitor_of(id), SIGKILL), 0);
    // The recorded pid now belongs to something else, as after a pid wrap.
    berth::test::ChildOptions sleeping;
    sleeping.argv = {"/bin/sleep", "1000"};
    berth::test::ChildProcess stranger(sleeping);
    std::ofstream(daemon_->dir() / ("run/containers/" + id + "/conmon.pid")) << stranger.pid();
    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    connect();
    expect_lost_monitor(cri_->status(id).status(), stranger.pid(), "the container was killed");
    EXPECT_TRUE(process_ended(process));
    EXPECT_TRUE(stranger.running()) << "berthd took a stranger for the monitor";
    EXPECT_EQ(pidfds_held(), 0);
    expect_prompt_stop_and_clean_remove(id);
}

}  // namespace
