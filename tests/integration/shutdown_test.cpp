// SIGTERM while calls that need far longer than the shutdown grace are in
// flight (a StopContainer waiting out a container that ignores SIGTERM, an
// ExecSync of a long command, a pull from a registry that never answers):
// berthd exits within the grace plus a small margin, the containers go on
// running, and a berthd started again knows them in a consistent state.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "child_process.hpp"
#include "cri_session.hpp"
#include "cri_test.hpp"
#include "shim_processes.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::BerthdOptions;
using berth::test::CriSession;
using berth::test::CriTest;
using berth::test::kShimBinary;
using berth::test::read_file;
using berth::test::run_command;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

// berthd's promise (docs/operations.md): in-flight calls get 10 s, and the
// process is gone shortly after.
constexpr auto kGrace = 10s;
constexpr auto kExitBound = 11s;

// A TCP port that accepts connections (the kernel completes them in the
// backlog) and never says a word: a pull from it hangs until curl gives up.
class SilentRegistry {
public:
    SilentRegistry() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
            ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            throw std::runtime_error("cannot listen on 127.0.0.1");
        }
        port_ = ntohs(address.sin_port);
    }
    ~SilentRegistry() { ::close(fd_); }
    std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    int fd_ = -1;
    int port_ = 0;
};

class ShutdownTest : public CriTest {
protected:
    static void SetUpTestSuite() { start_registry({"busybox:multi"}); }

    void SetUp() override {
        BerthdOptions options;
        // The VM runtime path, with Debian's containerd-shim-runc-v2 standing
        // in for a VM runtime's shim.
        if (::access(kShimBinary, X_OK) == 0) {
            options.extra_config = std::string("[berth.runtime.runtimes.") + kVm +
                                   "]\nruntime_type = \"vm\"\nruntime_path = \"" + kShimBinary +
                                   "\"\n";
        }
        start_daemon(options, {"busybox:multi"});
        pod_ = cri_->run_pod("shutdown");
    }
    void TearDown() override {
        if (cri_ && daemon_->process().running())
            cri_->remove_all_pods();
        cri_.reset();
        daemon_.reset();
    }

    static std::string image() { return reference("busybox:multi"); }

    // Whether a process whose command line holds `token` runs on the host.
    static bool process_with(const std::string& token) {
        return run_command("pgrep -f '[" + token.substr(0, 1) + "]" + token.substr(1) + "'")
                   .exit_code == 0;
    }

    // SIGTERM to berthd, which must be gone within the grace and a margin.
    void terminate_within_the_grace() {
        const auto signalled = std::chrono::steady_clock::now();
        daemon_->process().signal(SIGTERM);
        const auto code = daemon_->process().wait_for_exit(30s);
        const auto took = std::chrono::steady_clock::now() - signalled;
        EXPECT_EQ(code, 0) << daemon_->log();
        EXPECT_LE(took, kExitBound)
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n"
            << daemon_->log();
        EXPECT_GE(took, kGrace - 1s) << "the calls did not get their grace";
    }

    // Waits up to `timeout` for the process holding `token` to come or go.
    static bool process_becomes(const std::string& token, bool present,
                                std::chrono::seconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (process_with(token) != present && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(50ms);
        return process_with(token) == present;
    }

    static constexpr const char* kVm = "shim";
    std::string pod_;
};

TEST_F(ShutdownTest, LongCallsInFlightDoNotHoldTheExitBeyondTheGrace) {
    const auto stubborn = cri_->run(
        pod_, CriSession::container("stubborn", image(),
                                    {"sh", "-c", "trap '' TERM; while true; do sleep 1; done"}));
    const auto sleeper =
        cri_->run(pod_, CriSession::container("sleeper", image(), {"sleep", "1000"}));
    ASSERT_FALSE(stubborn.empty());
    ASSERT_FALSE(sleeper.empty());
    // Unique on the host, so that the probe's process can be looked for.
    const std::string probe_token = "berth-probe-" + std::to_string(::getpid());
    SilentRegistry silent;

    // Each call on a session of its own, as kubelet's callers are.
    CriSession stopper(*daemon_), prober(*daemon_), puller(*daemon_);
    auto stop = std::async(std::launch::async, [&] { return stopper.stop(stubborn, 30); });
    auto exec = std::async(std::launch::async, [&] {
        v1::ExecSyncResponse response;
        return prober.exec_sync(sleeper, {"sh", "-c", "sleep 60; : " + probe_token}, 0, &response);
    });
    auto pull = std::async(std::launch::async,
                           [&] { return puller.try_pull(silent.host() + "/busybox:multi"); });
    // All three are inside berthd: the probe runs in the container.
    ASSERT_TRUE(process_becomes(probe_token, true, 20s)) << daemon_->log();
    std::this_thread::sleep_for(500ms);

    terminate_within_the_grace();

    // Every caller got an answer that says the server went away, none hung.
    for (auto* call : {&stop, &exec, &pull}) {
        ASSERT_EQ(call->wait_for(5s), std::future_status::ready);
        const auto status = call->get();
        EXPECT_FALSE(status.ok());
        EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                    status.error_code() == grpc::StatusCode::CANCELLED)
            << status.error_code() << " " << status.error_message();
    }
    // The probe is berthd's child's business: it does not outlive berthd
    // (nobody is left to read its output or end it).
    EXPECT_TRUE(process_becomes(probe_token, false, 5s));
    // The containers outlive berthd by design, their monitors with them.
    const auto monitors =
        run_command("pgrep -c -f '[b]erth-conmon --cid .*" + daemon_->dir().path().string() + "'");
    EXPECT_EQ(monitors.output, "2\n") << monitors.output;

    // Started again, berthd knows both containers, running, with records
    // that load.
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    CriSession again(*daemon_);
    for (const auto& id : {stubborn, sleeper}) {
        const auto status = again.status(id);
        EXPECT_EQ(status.status().state(), v1::CONTAINER_RUNNING) << id;
        const auto record = nlohmann::json::parse(
            read_file(daemon_->dir() / ("root/containers/" + id + "/container.json")));
        EXPECT_EQ(record.value("state", ""), "running") << record.dump();
    }
    EXPECT_EQ(daemon_->log().find("ignoring container record"), std::string::npos)
        << daemon_->log();
    // The stop that was cut off can be made again, and finishes the job.
    ASSERT_TRUE(again.stop(stubborn, 1).ok());
    const auto stopped = again.status(stubborn);
    EXPECT_EQ(stopped.status().state(), v1::CONTAINER_EXITED);
    EXPECT_EQ(stopped.status().exit_code(), 137);
    cri_ = std::make_unique<CriSession>(*daemon_);
}

// The same for an ExecSync through a shim (a VM runtime's path): the shim
// outlives berthd by design, and would keep the command running.
TEST_F(ShutdownTest, ExecSyncThroughAShimDoesNotOutliveBerthd) {
    if (::access(kShimBinary, X_OK) != 0) {
        GTEST_SKIP() << "SKIPPED: " << kShimBinary
                     << " is missing (Debian's containerd package ships it), so ExecSync "
                        "through a shim at shutdown is NOT tested";
    }
    const std::string vm_pod = cri_->run_pod("shutdown-vm", "", kVm);
    ASSERT_FALSE(vm_pod.empty());
    const auto sleeper =
        cri_->run(vm_pod, CriSession::container("sleeper", image(), {"sleep", "1000"}));
    ASSERT_FALSE(sleeper.empty());
    const std::string probe_token = "berth-vm-probe-" + std::to_string(::getpid());
    CriSession prober(*daemon_);
    auto exec = std::async(std::launch::async, [&] {
        v1::ExecSyncResponse response;
        return prober.exec_sync(sleeper, {"sh", "-c", "sleep 60; : " + probe_token}, 0, &response);
    });
    ASSERT_TRUE(process_becomes(probe_token, true, 20s)) << daemon_->log();

    terminate_within_the_grace();
    ASSERT_EQ(exec.wait_for(5s), std::future_status::ready);
    EXPECT_FALSE(exec.get().ok());
    EXPECT_TRUE(process_becomes(probe_token, false, 5s))
        << "the command of the cut-off ExecSync runs on under the shim";

    // Started again, berthd still runs the container, and removes the pods
    // (and the shim with them) at the end.
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    cri_ = std::make_unique<CriSession>(*daemon_);
    EXPECT_EQ(cri_->status(sleeper).status().state(), v1::CONTAINER_RUNNING);
}

}  // namespace
