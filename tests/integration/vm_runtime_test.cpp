// The VM runtime path (runtime_type = "vm": a containerd shim v2 spoken to
// over ttrpc) on a real berthd, with Debian's containerd-shim-runc-v2 standing
// in for a VM runtime (no /dev/kvm here; it speaks the same shim API): the pod
// and container lifecycle with CRI logs, ExecSync, tty exec and attach through
// the streaming server, a daemon crash while containers run and exit, a shim
// that is killed or stops answering, and one pod spec giving the same result
// under runc, crun and the shim.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "berth/stream/remote_command_client.hpp"
#include "berthd_instance.hpp"
#include "cri_log_text.hpp"
#include "cri_session.hpp"
#include "crun_host.hpp"
#include "shim_processes.hpp"
#include "test_pipe.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::BerthdOptions;
using berth::test::cri_log_text;
using berth::test::CriSession;
using berth::test::deadline_context;
using berth::test::eventually;
using berth::test::kCriLogTimestamp;
using berth::test::kShimBinary;
using berth::test::kShimRuncRoot;
using berth::test::pids_with_argument;
using berth::test::prepare_host_for_crun;
using berth::test::read_file;
using berth::test::run_command;
using berth::test::shim_pids;
using berth::test::shim_runc_list;
using berth::test::shim_socket;
using berth::test::TestRegistry;
using berth::test::wait_for_serving_shim;
using namespace std::chrono_literals;

using berth::test::Pipe;

namespace {

using Clock = std::chrono::steady_clock;

// The runtime handler the tests configure with runtime_type = "vm".
constexpr const char* kVm = "shim";
constexpr const char* kRunsc = "/usr/bin/runsc";

// Runs `action` once, on scope exit unless it ran earlier.
class ScopeGuard {
public:
    explicit ScopeGuard(std::function<void()> action) : action_(std::move(action)) {}
    ~ScopeGuard() { fire(); }
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;
    void fire() {
        if (action_) {
            auto action = std::move(action_);
            action_ = nullptr;
            action();
        }
    }

private:
    std::function<void()> action_;
};

// One exec or attach session through the streaming server, run on threads
// of its own that share this state, so that a session that never ends fails
// the test instead of hanging it.
struct RemoteSession {
    Pipe in, out;
    std::mutex mutex;
    std::condition_variable changed;
    std::string output;
    bool finished = false;
    berth::stream::CommandOutcome outcome;
    std::string failure;  // what run_remote_command threw

    // Waits until the output contains `needle` (true) or the session ended
    // or `limit` passed (false).
    bool wait_for_output(const std::string& needle, std::chrono::milliseconds limit) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, limit, [&] {
            return output.find(needle) != std::string::npos || finished;
        }) && output.find(needle) != std::string::npos;
    }
    bool wait_finished(std::chrono::milliseconds limit) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, limit, [&] { return finished; });
    }
    std::string seen() {
        std::lock_guard lock(mutex);
        return output;
    }
};

std::shared_ptr<RemoteSession> start_session(
    const std::string& url, bool with_stdin, bool tty,
    std::optional<berth::stream::TerminalSize> size = std::nullopt) {
    auto session = std::make_shared<RemoteSession>();
    std::thread([session] {
        char buffer[4096];
        ssize_t got;
        while ((got = ::read(session->out.read, buffer, sizeof buffer)) > 0) {
            std::lock_guard lock(session->mutex);
            session->output.append(buffer, static_cast<std::size_t>(got));
            session->changed.notify_all();
        }
    }).detach();
    std::thread([session, url, with_stdin, tty, size] {
        berth::stream::RemoteCommandIo io;
        io.stdin_fd = with_stdin ? session->in.read : -1;
        io.stdout_fd = session->out.write;
        // Without a tty, stderr joins stdout: the tests look for text in either.
        io.stderr_fd = tty ? -1 : session->out.write;
        io.tty = tty;
        if (size)
            io.next_resize = [size] { return size; };
        berth::stream::CommandOutcome outcome;
        std::string failure;
        try {
            outcome = berth::stream::run_remote_command(url, io);
        } catch (const std::exception& error) {
            failure = error.what();
        }
        session->out.close_write();
        std::lock_guard lock(session->mutex);
        session->outcome = outcome;
        session->failure = failure;
        session->finished = true;
        session->changed.notify_all();
    }).detach();
    return session;
}

// The N of each "b-N" line in a log, in order.
std::vector<int> counters(const std::string& log) {
    static const std::regex counter(R"( stdout F b-(\d+)$)");
    std::vector<int> found;
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch match;
        if (std::regex_search(line, match, counter))
            found.push_back(std::stoi(match[1].str()));
    }
    return found;
}

// The highest N of the "b-N" lines in a log; -1 if none.
int last_counter(const std::string& log) {
    const auto found = counters(log);
    return found.empty() ? -1 : *std::max_element(found.begin(), found.end());
}

class VmRuntimeTest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        // Pipes to sessions that ended must fail writes, not kill the test.
        ::signal(SIGPIPE, SIG_IGN);
        registry_ = new TestRegistry();
        ASSERT_TRUE(registry_->start()) << registry_->log();
        registry_->push("busybox:multi");
    }
    static void TearDownTestSuite() {
        delete registry_;
        registry_ = nullptr;
    }

    // Seconds per shim request; 0 leaves berthd's default.
    virtual int shim_timeout() const { return 0; }

    void SetUp() override {
        if (::access(kShimBinary, X_OK) != 0) {
            GTEST_SKIP() << "SKIPPED: " << kShimBinary
                         << " is missing (Debian's containerd package ships it), so the VM "
                            "runtime path is NOT tested";
        }
        BerthdOptions options;
        options.extra_config = std::string("[berth.runtime.runtimes.") + kVm +
                               "]\nruntime_type = \"vm\"\nruntime_path = \"" + kShimBinary + "\"\n";
        if (shim_timeout() > 0)
            options.extra_config += "shim_timeout = " + std::to_string(shim_timeout()) + "\n";
        if (::access(kRunsc, X_OK) == 0) {
            // gVisor as an oci handler, as contrib/config/examples/runsc.conf
            // has it: a wrapper adds the flags berthd does not pass.
            runsc_wrapper_ = "/tmp/berth-runsc-" + std::to_string(::getpid()) + ".sh";
            std::ofstream(runsc_wrapper_)
                << "#!/bin/sh\nexec " << kRunsc << " --platform=ptrace --network=none \"$@\"\n";
            ::chmod(runsc_wrapper_.c_str(), 0755);
            options.extra_config += "[berth.runtime.runtimes.runsc]\nruntime_path = \"" +
                                    runsc_wrapper_ + "\"\nruntime_root = \"/run/brs" +
                                    std::to_string(::getpid()) + "\"\n";
        }
        daemon_ = std::make_unique<BerthdInstance>(options);
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
        connect();
        v1::PullImageRequest pull;
        pull.mutable_image()->set_image(image());
        v1::PullImageResponse pulled;
        auto context = deadline_context(60s);
        const auto result = images_->PullImage(context.get(), pull, &pulled);
        ASSERT_TRUE(result.ok()) << result.error_message();
    }

    void TearDown() override {
        // What berthd said, for a test that failed.
        if (HasFailure() && daemon_) {
            const std::string log = daemon_->log();
            const auto from = log.size() > 6000 ? log.size() - 6000 : 0;
            std::cout << "berthd " << (daemon_->process().running() ? "is running" : "has ended")
                      << "; the end of its log:\n"
                      << log.substr(from) << "\n";
        }
        // Whatever a test left (it failed half-way), removed through the API
        // first, then by force, so that no shim or container outlives it.
        if (cri_ && daemon_ && daemon_->process().running())
            cri_->remove_all_pods();
        // Before berthd's directory (with the bundles) goes.
        berth::test::kill_leftover_shims(pods_, containers_);
        cri_.reset();  // it refers to the daemon
        daemon_.reset();
        if (!runsc_wrapper_.empty()) {
            ::unlink(runsc_wrapper_.c_str());
            std::error_code ignored;
            fs::remove_all("/run/brs" + std::to_string(::getpid()), ignored);
        }
    }

    std::string runsc_wrapper_;

    void connect() {
        cri_ = std::make_unique<CriSession>(*daemon_);
        runtime_ = daemon_->runtime();
        images_ = daemon_->image();
    }

    static std::string image() { return registry_->host() + "/busybox:multi"; }

    std::string log_directory(const std::string& pod_name) const {
        return daemon_->dir() / ("logs/" + pod_name);
    }

    std::string run_pod(const std::string& name, const std::string& handler) {
        const auto id = cri_->run_pod(name, "", handler);
        if (!id.empty())
            pods_.push_back(id);
        return id;
    }

    static v1::ContainerConfig config(const std::string& name,
                                      const std::vector<std::string>& command) {
        return CriSession::container(name, image(), command);
    }

    // Remembered, so that TearDown can end what a failed test leaves behind.
    grpc::Status create(const std::string& pod, const v1::ContainerConfig& config,
                        std::string* id) {
        const auto status = cri_->create(pod, config, id);
        if (!id->empty())
            containers_.push_back(*id);
        return status;
    }

    grpc::Status start(const std::string& id) { return cri_->start(id); }

    // Creates and starts; "" and a test failure when either fails.
    std::string run(const std::string& pod, const v1::ContainerConfig& config) {
        std::string id;
        const auto created = create(pod, config, &id);
        EXPECT_TRUE(created.ok()) << "CreateContainer " << config.metadata().name() << ": "
                                  << created.error_message();
        if (!created.ok())
            return "";
        const auto started = start(id);
        EXPECT_TRUE(started.ok()) << "StartContainer " << config.metadata().name() << ": "
                                  << started.error_message();
        return started.ok() ? id : "";
    }

    grpc::Status stop(const std::string& id, std::int64_t timeout) {
        return cri_->stop(id, timeout);
    }

    grpc::Status remove(const std::string& id) { return cri_->remove(id); }

    v1::ContainerStatus status(const std::string& id, grpc::Status* result = nullptr,
                               std::chrono::milliseconds limit = 10s) {
        v1::ContainerStatusRequest request;
        request.set_container_id(id);
        v1::ContainerStatusResponse response;
        auto context = deadline_context(limit);
        const auto status = runtime_->ContainerStatus(context.get(), request, &response);
        if (result != nullptr)
            *result = status;
        else
            EXPECT_TRUE(status.ok()) << "ContainerStatus: " << status.error_message();
        return response.status();
    }

    // Waits (bounded) until the container has exited.
    v1::ContainerStatus wait_exited(const std::string& id, std::chrono::milliseconds limit = 20s) {
        v1::ContainerStatus current;
        if (!eventually(
                [&] {
                    current = status(id);
                    return current.state() == v1::CONTAINER_EXITED;
                },
                limit, 50ms)) {
            ADD_FAILURE() << "container " << id << " did not exit within " << limit.count()
                          << " ms; state " << v1::ContainerState_Name(current.state());
        }
        return current;
    }

    v1::PodSandboxStatus pod_status(const std::string& id) { return cri_->pod_status(id).status(); }

    grpc::Status stop_pod(const std::string& id) { return cri_->stop_pod(id); }

    grpc::Status remove_pod(const std::string& id) { return cri_->remove_pod(id); }

    // Stops and removes a pod (each must succeed), then checks that no shim
    // of it is left within 10 s.
    void stop_and_remove_pod(const std::string& pod) {
        const auto stopped = stop_pod(pod);
        EXPECT_TRUE(stopped.ok()) << "StopPodSandbox: " << stopped.error_message();
        const auto removed = remove_pod(pod);
        EXPECT_TRUE(removed.ok()) << "RemovePodSandbox: " << removed.error_message();
        EXPECT_TRUE(eventually([&] { return shim_pids(pod).empty(); }, 10s))
            << "a containerd-shim-runc-v2 -id " << pod
            << " process is still there 10 s after RemovePodSandbox";
    }

    std::vector<v1::Container> list_containers(grpc::Status* result = nullptr) {
        v1::ListContainersResponse response;
        auto context = deadline_context();
        const auto status = runtime_->ListContainers(context.get(), {}, &response);
        if (result != nullptr)
            *result = status;
        else
            EXPECT_TRUE(status.ok()) << "ListContainers: " << status.error_message();
        return {response.containers().begin(), response.containers().end()};
    }

    grpc::Status exec_sync(const std::string& id, const std::vector<std::string>& command,
                           std::int64_t timeout, v1::ExecSyncResponse* response,
                           std::chrono::milliseconds client_limit = 30s) {
        v1::ExecSyncRequest request;
        request.set_container_id(id);
        for (const auto& part : command)
            request.add_cmd(part);
        request.set_timeout(timeout);
        auto context = deadline_context(client_limit);
        return runtime_->ExecSync(context.get(), request, response);
    }

    std::string log_of(const std::string& pod_name, const std::string& container) const {
        return read_file(log_directory(pod_name) + "/" + container + ".log");
    }

    // Waits (bounded) until the container's log contains `needle`.
    std::string wait_for_log(const std::string& pod_name, const std::string& container,
                             const std::string& needle, std::chrono::milliseconds limit = 5s) {
        std::string log;
        const bool found = eventually(
            [&] {
                log = log_of(pod_name, container);
                return log.find(needle) != std::string::npos;
            },
            limit);
        EXPECT_TRUE(found) << "\"" << needle << "\" did not reach the log of " << container
                           << " within " << limit.count() << " ms; the log:\n"
                           << log;
        return log;
    }

    static TestRegistry* registry_;
    std::unique_ptr<BerthdInstance> daemon_;
    std::unique_ptr<v1::RuntimeService::Stub> runtime_;
    std::unique_ptr<v1::ImageService::Stub> images_;
    std::unique_ptr<CriSession> cri_;
    // Every pod and container made, for the safety net in TearDown.
    std::vector<std::string> pods_, containers_;
};

TestRegistry* VmRuntimeTest::registry_ = nullptr;

TEST_F(VmRuntimeTest, PodAndContainerLifecycleThroughTheShim) {
    const auto pod = run_pod("vmpod", kVm);
    ASSERT_FALSE(pod.empty());
    EXPECT_EQ(pod_status(pod).state(), v1::SANDBOX_READY);
    const pid_t shim = wait_for_serving_shim(pod, 5s);
    ASSERT_GT(shim, 0) << "no `containerd-shim-runc-v2 ... -id " << pod
                       << "` process serves the pod";
    const std::string socket = shim_socket(shim);
    EXPECT_TRUE(fs::exists(socket)) << "the shim's socket " << socket;

    // Output reaches the CRI log; SIGTERM is honoured at once.
    const auto talker = run(pod, config("talker", {"sh", "-c",
                                                   "echo hello; echo oops >&2; trap 'exit 0' TERM; "
                                                   "while true; do sleep 0.1; done"}));
    ASSERT_FALSE(talker.empty());
    EXPECT_EQ(status(talker).state(), v1::CONTAINER_RUNNING);
    wait_for_log("vmpod", "talker", "oops");
    const std::string log = wait_for_log("vmpod", "talker", "hello");
    EXPECT_EQ(cri_log_text(log, "stdout"), "hello\n") << log;
    EXPECT_EQ(cri_log_text(log, "stderr"), "oops\n") << log;
    EXPECT_TRUE(std::regex_search(
        log, std::regex(std::string("(^|\n)") + kCriLogTimestamp + " stdout F hello\n")))
        << log;
    EXPECT_TRUE(std::regex_search(
        log, std::regex(std::string("(^|\n)") + kCriLogTimestamp + " stderr F oops\n")))
        << log;
    EXPECT_EQ(status(talker).log_path(), log_directory("vmpod") + "/talker.log");

    auto begin = Clock::now();
    const auto stopped = stop(talker, 5);
    ASSERT_TRUE(stopped.ok()) << stopped.error_message();
    EXPECT_LT(Clock::now() - begin, 3s) << "a container that exits on SIGTERM took that long";
    const auto completed = status(talker);
    EXPECT_EQ(completed.state(), v1::CONTAINER_EXITED);
    EXPECT_EQ(completed.exit_code(), 0);
    EXPECT_EQ(completed.reason(), "Completed");
    EXPECT_GT(completed.finished_at(), completed.started_at());

    // SIGTERM ignored: killed when the grace period ends.
    const auto stubborn =
        run(pod, config("stubborn", {"sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"}));
    ASSERT_FALSE(stubborn.empty());
    begin = Clock::now();
    const auto killed = stop(stubborn, 1);
    ASSERT_TRUE(killed.ok()) << killed.error_message();
    EXPECT_GE(Clock::now() - begin, 1s) << "the grace period was not waited for";
    EXPECT_LT(Clock::now() - begin, 5s);
    const auto error = status(stubborn);
    EXPECT_EQ(error.state(), v1::CONTAINER_EXITED);
    EXPECT_EQ(error.exit_code(), 137);
    EXPECT_EQ(error.reason(), "Error");

    // StopPodSandbox stops what still runs; RemovePodSandbox leaves nothing.
    const auto sleeper = run(pod, config("sleeper", {"sleep", "1000"}));
    ASSERT_FALSE(sleeper.empty());
    EXPECT_EQ(list_containers().size(), 3u);
    const auto pod_stopped = stop_pod(pod);
    ASSERT_TRUE(pod_stopped.ok()) << pod_stopped.error_message();
    EXPECT_EQ(status(sleeper).state(), v1::CONTAINER_EXITED);
    EXPECT_EQ(pod_status(pod).state(), v1::SANDBOX_NOTREADY);
    const auto pod_removed = remove_pod(pod);
    ASSERT_TRUE(pod_removed.ok()) << pod_removed.error_message();
    EXPECT_TRUE(eventually([&] { return shim_pids(pod).empty(); }, 10s))
        << "a shim of the pod is still there 10 s after RemovePodSandbox";
    EXPECT_FALSE(fs::exists(socket)) << "the shim's socket outlived the pod: " << socket;
    EXPECT_TRUE(list_containers().empty());
    v1::ListPodSandboxResponse pods;
    auto context = deadline_context();
    ASSERT_TRUE(runtime_->ListPodSandbox(context.get(), {}, &pods).ok());
    EXPECT_EQ(pods.items_size(), 0);
}

// The shim's TaskOOM event reaches berthd (it serves the shim's
// TTRPC_ADDRESS), so an OOM kill is reported as such, as for runc pods.
TEST_F(VmRuntimeTest, AnOomKillIsReportedAsOomKilled) {
    const auto pod = run_pod("oompod", kVm);
    ASSERT_FALSE(pod.empty());
    auto hungry =
        config("hungry", {"sh", "-c", "sleep 0.3; dd if=/dev/zero of=/dev/null bs=64M count=1"});
    hungry.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(16 << 20);
    const auto id = run(pod, hungry);
    ASSERT_FALSE(id.empty());
    const auto exited = wait_exited(id);
    EXPECT_EQ(exited.reason(), "OOMKilled")
        << "exit code " << exited.exit_code() << ", message: " << exited.message();
    EXPECT_EQ(exited.exit_code(), 137);
    stop_and_remove_pod(pod);
}

// gVisor is no VM runtime but an OCI one (berth-conmon supervises runsc);
// its handler example lives beside the VM ones, and so does its test. Pods
// of an OCI handler carry no sandbox grouping annotations, which runsc would
// otherwise take for a sandbox to join.
TEST_F(VmRuntimeTest, RunscServesAsAnOciHandler) {
    if (::access(kRunsc, X_OK) != 0) {
        GTEST_SKIP() << "SKIPPED: " << kRunsc
                     << " is missing (Debian package runsc), so gVisor as an oci handler is NOT "
                        "tested";
    }
    const auto pod = run_pod("gvisorpod", "runsc");
    ASSERT_FALSE(pod.empty());
    const auto id = run(pod, config("gv", {"sh", "-c", "dmesg | head -1; echo done; exit 4"}));
    ASSERT_FALSE(id.empty());
    const auto exited = wait_exited(id, 30s);
    EXPECT_EQ(exited.exit_code(), 4);
    const std::string log = read_file(log_directory("gvisorpod") + "/gv.log");
    EXPECT_NE(log.find("Starting gVisor"), std::string::npos)
        << "the container did not run on gVisor's kernel; its log:\n"
        << log;
    EXPECT_NE(log.find("stdout F done"), std::string::npos) << log;
    stop_and_remove_pod(pod);
}

TEST_F(VmRuntimeTest, ExecSyncThroughTheShim) {
    const auto pod = run_pod("execpod", kVm);
    ASSERT_FALSE(pod.empty());
    const auto id = run(pod, config("sleeper", {"sleep", "1000"}));
    ASSERT_FALSE(id.empty());

    v1::ExecSyncResponse response;
    auto result = exec_sync(id, {"echo", "hi"}, 10, &response);
    ASSERT_TRUE(result.ok()) << result.error_message();
    EXPECT_EQ(response.stdout(), "hi\n");
    EXPECT_EQ(response.stderr(), "");
    EXPECT_EQ(response.exit_code(), 0);

    response.Clear();
    result = exec_sync(id, {"sh", "-c", "echo err >&2; exit 3"}, 10, &response);
    ASSERT_TRUE(result.ok()) << result.error_message();
    EXPECT_EQ(response.exit_code(), 3);
    EXPECT_EQ(response.stderr(), "err\n");
    EXPECT_EQ(response.stdout(), "");

    const auto begin = Clock::now();
    result = exec_sync(id, {"sleep", "10"}, 1, &response);
    const auto took = Clock::now() - begin;
    EXPECT_EQ(result.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << result.error_message();
    EXPECT_LT(took, 3500ms) << "ExecSync with a 1 s timeout took "
                            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                            << " ms";

    // The container and its shim still serve execs afterwards.
    response.Clear();
    result = exec_sync(id, {"echo", "after"}, 10, &response);
    ASSERT_TRUE(result.ok()) << result.error_message();
    EXPECT_EQ(response.stdout(), "after\n");
    EXPECT_EQ(status(id).state(), v1::CONTAINER_RUNNING);
    stop_and_remove_pod(pod);
}

TEST_F(VmRuntimeTest, TtyExecAndAttachThroughTheStreamingServer) {
    const auto pod = run_pod("streampod", kVm);
    ASSERT_FALSE(pod.empty());
    const auto sleeper = run(pod, config("sleeper", {"sleep", "1000"}));
    ASSERT_FALSE(sleeper.empty());

    // exec -it: a terminal of the client's size.
    v1::ExecRequest exec;
    exec.set_container_id(sleeper);
    for (const char* word : {"sh", "-c", "tty; sleep 1; stty size"})
        exec.add_cmd(word);
    exec.set_tty(true);
    exec.set_stdout(true);
    v1::ExecResponse exec_response;
    auto context = deadline_context(30s);
    const auto exec_result = runtime_->Exec(context.get(), exec, &exec_response);
    ASSERT_TRUE(exec_result.ok()) << exec_result.error_message();
    const auto tty =
        start_session(exec_response.url(), false, true, berth::stream::TerminalSize{123, 45});
    ASSERT_TRUE(tty->wait_finished(20s))
        << "the tty exec session did not end within 20 s; output: " << tty->seen();
    EXPECT_EQ(tty->failure, "");
    EXPECT_TRUE(tty->outcome.success) << tty->outcome.message;
    EXPECT_NE(tty->seen().find("/dev/pts/"), std::string::npos)
        << "`tty` in a tty exec said: " << tty->seen();
    EXPECT_NE(tty->seen().find("45 123"), std::string::npos)
        << "`stty size` did not show the client's 45 rows, 123 columns: " << tty->seen();

    // attach: the container reads what the client sends and writes it back.
    auto echoer_config = config("echoer", {"cat"});
    echoer_config.set_stdin(true);
    const auto echoer = run(pod, echoer_config);
    ASSERT_FALSE(echoer.empty());
    v1::AttachRequest attach;
    attach.set_container_id(echoer);
    attach.set_stdin(true);
    attach.set_stdout(true);
    attach.set_stderr(true);
    v1::AttachResponse attach_response;
    auto attach_context = deadline_context(30s);
    const auto attach_result = runtime_->Attach(attach_context.get(), attach, &attach_response);
    ASSERT_TRUE(attach_result.ok()) << attach_result.error_message();
    const auto attached = start_session(attach_response.url(), true, false);
    const std::string line = "ping-through-the-shim\n";
    ASSERT_EQ(::write(attached->in.write, line.data(), line.size()),
              static_cast<ssize_t>(line.size()));
    EXPECT_TRUE(attached->wait_for_output("ping-through-the-shim", 10s))
        << "attach did not show the echo of its input; seen: " << attached->seen()
        << (attached->failure.empty() ? "" : " (client: " + attached->failure + ")");
    wait_for_log("streampod", "echoer", "stdout F ping-through-the-shim");
    // Detaching leaves the container running; stopping it ends the session.
    attached->in.close_write();
    EXPECT_EQ(status(echoer).state(), v1::CONTAINER_RUNNING);
    const auto stopped = stop(echoer, 0);
    ASSERT_TRUE(stopped.ok()) << stopped.error_message();
    EXPECT_TRUE(attached->wait_finished(10s))
        << "the attach session went on 10 s after its container was stopped";
    stop_and_remove_pod(pod);
}

TEST_F(VmRuntimeTest, RestartFindsRunningContainersAndExitsMissedWhileDown) {
    const auto pod = run_pod("restartpod", kVm);
    ASSERT_FALSE(pod.empty());
    const auto a =
        run(pod, config("a", {"sh", "-c", "echo a-start; sleep 3; echo a-done; exit 7"}));
    const auto b = run(pod, config("b", {"sh", "-c",
                                         "i=0; while true; do echo b-$i; i=$((i+1)); "
                                         "sleep 0.2; done"}));
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(status(a).state(), v1::CONTAINER_RUNNING);
    EXPECT_EQ(status(b).state(), v1::CONTAINER_RUNNING);
    wait_for_log("restartpod", "a", "a-start");
    wait_for_log("restartpod", "b", "b-1");

    // berthd dies; A exits while it is down (3 s after it started).
    daemon_->process().signal(SIGKILL);
    ASSERT_TRUE(daemon_->process().wait_for_exit(10s).has_value());
    std::this_thread::sleep_for(4s);
    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    connect();

    v1::ContainerStatus a_status;
    EXPECT_TRUE(eventually(
        [&] {
            a_status = status(a);
            return a_status.state() == v1::CONTAINER_EXITED;
        },
        5s))
        << "A exited while berthd was down, but is " << v1::ContainerState_Name(a_status.state())
        << " 5 s after the restart";
    EXPECT_EQ(a_status.exit_code(), 7);
    EXPECT_EQ(a_status.reason(), "Error");
    EXPECT_GT(a_status.finished_at(), a_status.started_at());
    const auto a_log = wait_for_log("restartpod", "a", "a-done");
    EXPECT_EQ(cri_log_text(a_log, "stdout"), "a-start\na-done\n") << a_log;

    EXPECT_EQ(status(b).state(), v1::CONTAINER_RUNNING);
    const int at_restart = last_counter(log_of("restartpod", "b"));
    int latest = at_restart;
    EXPECT_TRUE(eventually(
        [&] {
            latest = last_counter(log_of("restartpod", "b"));
            return latest >= at_restart + 3;
        },
        5s))
        << "B's log stopped growing after the restart: b-" << at_restart << " then b-" << latest
        << "\n"
        << log_of("restartpod", "b");
    // Nothing B wrote while berthd was down is lost: b-0, b-1, ... without a gap.
    const auto seen = counters(log_of("restartpod", "b"));
    for (std::size_t i = 0; i < seen.size(); ++i) {
        if (seen[i] != static_cast<int>(i)) {
            ADD_FAILURE() << "B's log has b-" << seen[i] << " where b-" << i
                          << " belongs: what B wrote while berthd was down was lost\n"
                          << log_of("restartpod", "b");
            break;
        }
    }

    const auto stopped = stop(b, 1);
    ASSERT_TRUE(stopped.ok()) << stopped.error_message();
    EXPECT_EQ(status(b).state(), v1::CONTAINER_EXITED);
    for (const auto& id : {a, b}) {
        const auto removed = remove(id);
        EXPECT_TRUE(removed.ok()) << removed.error_message();
    }
    EXPECT_TRUE(list_containers().empty());
    stop_and_remove_pod(pod);
}

// The fault tests: a shim request may take 3 s before it fails.
class VmRuntimeFaultTest : public VmRuntimeTest {
protected:
    int shim_timeout() const override { return 3; }
};

TEST_F(VmRuntimeFaultTest, AKilledShimEndsItsContainersAndLeavesNothing) {
    const auto pod = run_pod("killedpod", kVm);
    ASSERT_FALSE(pod.empty());
    // A word in the containers' command lines finds their processes.
    const std::string marker = "vmfault" + std::to_string(::getpid());
    const std::string loop = "while true; do sleep 0.1; done";
    const auto one = run(pod, config("one", {"sh", "-c", loop, marker + "-one"}));
    const auto two = run(pod, config("two", {"sh", "-c", loop, marker + "-two"}));
    ASSERT_FALSE(one.empty());
    ASSERT_FALSE(two.empty());
    ASSERT_TRUE(eventually([&] { return pids_with_argument(marker).size() == 2; }, 2s))
        << "the containers' processes are not found by their command lines";
    const pid_t shim = wait_for_serving_shim(pod, 5s);
    ASSERT_GT(shim, 0) << "no shim serves the pod";
    const std::string socket = shim_socket(shim);
    EXPECT_TRUE(fs::exists(socket)) << "the shim's socket " << socket;
    const bool runc_root = fs::exists(kShimRuncRoot);
    if (runc_root) {
        const auto listed = shim_runc_list();
        EXPECT_NE(listed.find(one), std::string::npos) << listed;
    } else {
        std::cout << "NOTE: " << kShimRuncRoot
                  << " does not exist, so runc's state is not checked; the containers' "
                     "processes are\n";
    }

    ASSERT_EQ(::kill(shim, SIGKILL), 0);
    // The sandbox task went with the shim: kubelet must see the pod as gone.
    EXPECT_TRUE(eventually([&] { return pod_status(pod).state() == v1::SANDBOX_NOTREADY; }, 10s))
        << "the pod is still ready 10 s after its shim was killed";
    for (const auto& id : {one, two}) {
        v1::ContainerStatus current;
        EXPECT_TRUE(eventually(
            [&] {
                current = status(id);
                return current.state() == v1::CONTAINER_EXITED;
            },
            11s))
            << "10 s after its shim was killed, a container is still "
            << v1::ContainerState_Name(current.state());
        EXPECT_NE(current.message().find("shim"), std::string::npos)
            << "the message does not name the shim: \"" << current.message() << "\" (reason \""
            << current.reason() << "\", exit code " << current.exit_code() << ")";
    }

    const auto removed = remove(one);
    EXPECT_TRUE(removed.ok()) << "RemoveContainer: " << removed.error_message();
    stop_and_remove_pod(pod);
    EXPECT_TRUE(list_containers().empty());
    EXPECT_TRUE(eventually([&] { return pids_with_argument(marker).empty(); }, 10s))
        << "a process of the pod's containers outlived the pod";
    for (const auto& id : {one, two}) {
        EXPECT_TRUE(pids_with_argument(id).empty())
            << "a process naming container " << id << " (its fifo keeper?) outlived it";
    }
    EXPECT_FALSE(fs::exists(socket)) << "the killed shim's socket outlived the pod: " << socket;
    if (runc_root) {
        const auto listed = shim_runc_list();
        for (const auto& id : {pod, one, two})
            EXPECT_EQ(listed.find(id), std::string::npos) << "runc still knows " << id;
    }
}

// Removal must not depend on the shim: with the shim stopped (SIGSTOP),
// StopPodSandbox and RemovePodSandbox still succeed, each shim call bounded
// by shim_timeout, and nothing of the pod is left (the shim is killed, the
// container ended by the shim binary's delete).
TEST_F(VmRuntimeFaultTest, AHungShimsPodIsStillRemoved) {
    const auto pod = run_pod("hungremoval", kVm);
    ASSERT_FALSE(pod.empty());
    const std::string marker = "vmhung" + std::to_string(::getpid());
    const auto id =
        run(pod, config("victim", {"sh", "-c", "while true; do sleep 0.1; done", marker}));
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(eventually([&] { return pids_with_argument(marker).size() == 1; }, 2s));
    const pid_t shim = wait_for_serving_shim(pod, 5s);
    ASSERT_GT(shim, 0) << "no shim serves the pod";
    ASSERT_EQ(::kill(shim, SIGSTOP), 0);
    ScopeGuard resume([shim] { ::kill(shim, SIGCONT); });

    const auto begin = Clock::now();
    stop_and_remove_pod(pod);
    EXPECT_LT(Clock::now() - begin, 40s) << "removal waited on the hung shim too long";
    EXPECT_TRUE(list_containers().empty());
    EXPECT_TRUE(eventually([&] { return pids_with_argument(marker).empty(); }, 10s))
        << "the container outlived its removed pod";
    EXPECT_TRUE(pids_with_argument(id).empty()) << "its fifo keeper outlived it";
}

TEST_F(VmRuntimeFaultTest, AShimThatStopsAnsweringTimesOutOnlyItsOwnPod) {
    const auto stuck_pod = run_pod("stuckpod", kVm);
    const auto healthy_pod = run_pod("healthypod", kVm);
    ASSERT_FALSE(stuck_pod.empty());
    ASSERT_FALSE(healthy_pod.empty());
    const auto stuck = run(stuck_pod, config("stuck", {"sleep", "1000"}));
    const auto healthy = run(healthy_pod, config("healthy", {"sleep", "1000"}));
    ASSERT_FALSE(stuck.empty());
    ASSERT_FALSE(healthy.empty());
    const pid_t shim = wait_for_serving_shim(stuck_pod, 5s);
    ASSERT_GT(shim, 0) << "no shim serves the pod";

    ASSERT_EQ(::kill(shim, SIGSTOP), 0);
    ScopeGuard resume([shim] { ::kill(shim, SIGCONT); });
    auto hung = std::async(std::launch::async, [&] {
        v1::ExecSyncResponse response;
        const auto begin = Clock::now();
        // timeout 0: no exec timeout; only the shim timeout can end it.
        const auto result = exec_sync(stuck, {"echo", "stuck"}, 0, &response, 30s);
        return std::make_pair(result, Clock::now() - begin);
    });
    std::this_thread::sleep_for(500ms);

    // Meanwhile the other pod and the daemon's lists answer at once.
    auto begin = Clock::now();
    v1::ExecSyncResponse response;
    const auto other = exec_sync(healthy, {"echo", "healthy"}, 10, &response);
    EXPECT_TRUE(other.ok()) << other.error_message();
    EXPECT_EQ(response.stdout(), "healthy\n");
    EXPECT_LT(Clock::now() - begin, 2s) << "ExecSync in the other pod waited";
    begin = Clock::now();
    grpc::Status listed;
    EXPECT_EQ(list_containers(&listed).size(), 2u);
    EXPECT_TRUE(listed.ok()) << listed.error_message();
    EXPECT_LT(Clock::now() - begin, 1s) << "ListContainers waited";
    for (const auto& id : {healthy, stuck}) {
        begin = Clock::now();
        grpc::Status result;
        const auto current = status(id, &result, 10s);
        EXPECT_TRUE(result.ok()) << result.error_message();
        EXPECT_EQ(current.state(), v1::CONTAINER_RUNNING);
        EXPECT_LT(Clock::now() - begin, 1s)
            << "ContainerStatus of " << (id == stuck ? "the stopped" : "the healthy")
            << " shim's container waited";
    }

    ASSERT_EQ(hung.wait_for(15s), std::future_status::ready)
        << "ExecSync to a shim that does not answer did not end within 15 s";
    const auto [result, took] = hung.get();
    EXPECT_EQ(result.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << result.error_code() << ": " << result.error_message();
    EXPECT_GE(took, 2500ms);
    EXPECT_LE(took, 8500ms) << "with shim_timeout = 3";
    EXPECT_NE(result.error_message().find("shim"), std::string::npos) << result.error_message();
    EXPECT_TRUE(std::regex_search(result.error_message(),
                                  std::regex("(did not|didn't|does not|no) (answer|respon)")))
        << "the message does not say that the shim did not answer: " << result.error_message();

    resume.fire();
    // Once it answers again, its pod is served again.
    response.Clear();
    const auto again = exec_sync(stuck, {"echo", "back"}, 10, &response);
    EXPECT_TRUE(again.ok()) << again.error_message();
    EXPECT_EQ(response.stdout(), "back\n");
    stop_and_remove_pod(stuck_pod);
    stop_and_remove_pod(healthy_pod);
}

// One pod spec under each runtime handler: the same log and exit code.
class VmRuntimeSameSpecTest : public VmRuntimeTest,
                              public testing::WithParamInterface<std::string> {};

TEST_P(VmRuntimeSameSpecTest, EchoGivesTheSameLogAndExitCode) {
    const std::string handler = GetParam();
    if (handler == "crun") {
        std::string why;
        if (!prepare_host_for_crun(why))
            GTEST_SKIP() << "SKIPPED: the crun leg is NOT tested: " << why;
    }
    const std::string name = "same-" + handler;
    const auto pod = run_pod(name, handler);
    ASSERT_FALSE(pod.empty());
    const auto id = run(pod, config("same", {"echo", "same"}));
    ASSERT_FALSE(id.empty());
    const auto exited = wait_exited(id);
    EXPECT_EQ(exited.exit_code(), 0);
    EXPECT_EQ(exited.reason(), "Completed");
    const auto log = wait_for_log(name, "same", "same\n");
    EXPECT_TRUE(
        std::regex_match(log, std::regex(std::string(kCriLogTimestamp) + " stdout F same\n")))
        << "under " << handler << " the log is:\n"
        << log;
    stop_and_remove_pod(pod);
}

INSTANTIATE_TEST_SUITE_P(Handlers, VmRuntimeSameSpecTest,
                         testing::Values(std::string("runc"), std::string("crun"),
                                         std::string(kVm)),
                         [](const testing::TestParamInfo<std::string>& param_info) {
                             return param_info.param;
                         });

}  // namespace
