// kubelet's retries of slow RunPodSandbox and CreateContainer calls on a
// real berthd: a CNI plugin whose ADD takes 6 s (a wrapper around the real
// bridge plugin) and a runtime whose create takes 6 s (a wrapper around
// runc), with clients that give up after 2 s and send the identical request
// again, as kubelet does after its runtime request timeout. The retry must
// get the first call's pod or container, never "name is reserved"; a result
// nobody asks for again is removed; a berthd stopped during the call keeps
// the result for the retry after its restart.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "cri_session.hpp"
#include "mount_cleanup.hpp"
#include "test_network.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::CriSession;
using berth::test::run_command;
using berth::test::TestNetwork;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

// kubelet's runtime request timeout, scaled down.
constexpr auto kClientTimeout = 2s;

struct Attempts {
    grpc::Status last;
    std::string id;
    std::vector<grpc::StatusCode> codes;  // of every attempt, in order
    std::chrono::steady_clock::duration took{};

    std::string describe() const {
        std::string text;
        for (const auto code : codes)
            text += std::to_string(static_cast<int>(code)) + " ";
        return "codes: " + text + "last: " + last.error_message();
    }
    bool saw(grpc::StatusCode code) const {
        return std::find(codes.begin(), codes.end(), code) != codes.end();
    }
};

// The identical request again and again, each attempt giving up after
// kClientTimeout, until one succeeds or `budget` has passed.
Attempts retry_until_ok(const std::function<grpc::Status(std::string*)>& attempt,
                        std::chrono::seconds budget = 15s) {
    Attempts result;
    const auto started = std::chrono::steady_clock::now();
    do {
        result.last = attempt(&result.id);
        result.codes.push_back(result.last.error_code());
        if (result.last.ok())
            break;
        if (result.last.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED)
            std::this_thread::sleep_for(200ms);  // kubelet backs off too
    } while (std::chrono::steady_clock::now() - started < budget);
    result.took = std::chrono::steady_clock::now() - started;
    return result;
}

std::string find_runc() {
    for (const char* path : {"/usr/sbin/runc", "/usr/bin/runc"}) {
        if (::access(path, X_OK) == 0)
            return path;
    }
    return "runc";
}

// Entries below `dir` (0 when it does not exist).
int entries_in(const fs::path& dir) {
    std::error_code missing;
    int count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir, missing))
        ++count;
    return count;
}

// --- RunPodSandbox with a CNI plugin whose ADD takes 6 s -------------------

class RetriedRunPodSandboxTest : public testing::Test {
protected:
    // A berthd whose bridge plugin is the slow wrapper; results nobody asks
    // for are kept `unclaimed_timeout` seconds.
    void start(int unclaimed_timeout = 120) {
        berthd_ = std::make_unique<BerthdInstance>();
        const std::string plugins = berthd_->dir() / "plugins";
        const std::string wrapper =
            berthd_->dir().write("plugins/bridge",
                                 "#!/bin/sh\n"
                                 "# The real bridge plugin, 6 s late on ADD.\n"
                                 "if [ \"$CNI_COMMAND\" = ADD ]; then sleep 6; fi\n"
                                 "exec /usr/lib/cni/bridge \"$@\"\n");
        ::chmod(wrapper.c_str(), 0755);
        berthd_->dir().write("net.d/10-test.conflist", network_.conflist(ipam_dir()));
        berthd_->dir().write("berth.conf.d/50-retries.conf",
                             "[berth.network]\nplugin_dirs = [\"" + plugins +
                                 "\", \"/usr/lib/cni\"]\n[berth.api]\nunclaimed_result_timeout = " +
                                 std::to_string(unclaimed_timeout) + "\n");
        ASSERT_TRUE(berthd_->start()) << berthd_->log();
        cri_ = std::make_unique<CriSession>(*berthd_);
    }

    void TearDown() override {
        if (cri_ && berthd_->process().running())
            cri_->remove_all_pods();
        cri_.reset();
        berthd_.reset();
    }

    std::string ipam_dir() const { return berthd_->dir() / "ipam"; }
    int allocated_addresses() const { return network_.allocated_addresses(ipam_dir()); }

    // A pod with its own network namespace, so that CNI ADD runs.
    static v1::RunPodSandboxRequest pod(const std::string& name) {
        v1::RunPodSandboxRequest request;
        auto* config = request.mutable_config();
        config->mutable_metadata()->set_name(name);
        config->mutable_metadata()->set_namespace_("default");
        config->mutable_metadata()->set_uid("uid-" + name);
        (*config->mutable_labels())["app"] = name;
        return request;
    }

    Attempts retry(const v1::RunPodSandboxRequest& request) {
        return retry_until_ok(
            [&](std::string* id) { return cri_->run_pod(request, id, kClientTimeout); });
    }

    TestNetwork network_;
    std::unique_ptr<BerthdInstance> berthd_;
    std::unique_ptr<CriSession> cri_;
};

TEST_F(RetriedRunPodSandboxTest, RetriesGetThePodOfTheSlowCall) {
    ASSERT_NO_FATAL_FAILURE(start());
    const auto request = pod("slow");
    const auto attempts = retry(request);
    ASSERT_TRUE(attempts.last.ok()) << attempts.describe() << "\n" << berthd_->log();
    EXPECT_EQ(attempts.codes.front(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_FALSE(attempts.saw(grpc::StatusCode::ALREADY_EXISTS)) << attempts.describe();
    EXPECT_LT(attempts.took, 12s);

    // One pod, the one the retry got, with the one address its ADD took.
    const auto pods = cri_->pods();
    ASSERT_EQ(pods.size(), 1u);
    EXPECT_EQ(pods[0].id(), attempts.id);
    EXPECT_EQ(pods[0].state(), v1::SANDBOX_READY);
    EXPECT_EQ(allocated_addresses(), 1);
    EXPECT_FALSE(cri_->pod_status(attempts.id).status().network().ip().empty());

    // Another request for the same name is still refused, naming the pod.
    auto other = request;
    (*other.mutable_config()->mutable_labels())["app"] = "something else";
    std::string id;
    const auto refused = cri_->run_pod(other, &id);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::ALREADY_EXISTS) << refused.error_message();
    EXPECT_NE(refused.error_message().find(attempts.id), std::string::npos)
        << refused.error_message();
    EXPECT_EQ(cri_->pods().size(), 1u);
}

TEST_F(RetriedRunPodSandboxTest, RetryAfterTheSlowCallEndedGetsThePodAtOnce) {
    ASSERT_NO_FATAL_FAILURE(start());
    const auto request = pod("late");
    std::string id;
    EXPECT_EQ(cri_->run_pod(request, &id, kClientTimeout).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
    ASSERT_TRUE(berthd_->wait_for_log("kept 120 s for a retry", 20s)) << berthd_->log();
    // Unclaimed, it is not shown (kubelet would otherwise adopt it).
    EXPECT_TRUE(cri_->pods().empty());

    const auto started = std::chrono::steady_clock::now();
    const auto claimed = cri_->run_pod(request, &id, kClientTimeout);
    ASSERT_TRUE(claimed.ok()) << claimed.error_message() << "\n" << berthd_->log();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms) << "the pod was ready already";
    const auto pods = cri_->pods();
    ASSERT_EQ(pods.size(), 1u);
    EXPECT_EQ(pods[0].id(), id);
    EXPECT_EQ(pods[0].state(), v1::SANDBOX_READY);
    EXPECT_EQ(allocated_addresses(), 1);
}

TEST_F(RetriedRunPodSandboxTest, PodNobodyAskedForAgainIsRemoved) {
    ASSERT_NO_FATAL_FAILURE(start(3));
    const auto request = pod("forgotten");
    std::string id;
    EXPECT_EQ(cri_->run_pod(request, &id, kClientTimeout).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
    // 6 s of ADD, then 3 s for a retry that never comes.
    ASSERT_TRUE(berthd_->wait_for_log("nobody asked again for pod sandbox", 20s)) << berthd_->log();
    ASSERT_TRUE(berthd_->wait_for_log("removed unclaimed pod sandbox", 10s)) << berthd_->log();
    EXPECT_TRUE(cri_->pods().empty());
    EXPECT_EQ(allocated_addresses(), 0) << "CNI DEL gave the address back";
    EXPECT_EQ(berth::test::mounts_below(berthd_->dir().path().string()), std::vector<std::string>{})
        << "its namespaces and shm are unmounted";
    EXPECT_EQ(entries_in(berthd_->dir() / "root/sandboxes"), 0);

    // Its name is free for any request.
    auto other = request;
    (*other.mutable_config()->mutable_labels())["app"] = "something else";
    const auto fresh = cri_->run_pod(other, &id, 60s);
    EXPECT_TRUE(fresh.ok()) << fresh.error_message();
}

TEST_F(RetriedRunPodSandboxTest, StoppingBerthdDuringTheCallKeepsThePodForTheRetry) {
    ASSERT_NO_FATAL_FAILURE(start());
    const auto request = pod("restarted");
    std::string id;
    EXPECT_EQ(cri_->run_pod(request, &id, kClientTimeout).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
    // SIGTERM while ADD still runs: berthd finishes the call, has nobody to
    // answer, and keeps the pod on disk.
    cri_.reset();
    ASSERT_TRUE(berthd_->stop_and_restart()) << berthd_->log();
    cri_ = std::make_unique<CriSession>(*berthd_);
    EXPECT_NE(berthd_->log().find("1 kept for a retry"), std::string::npos) << berthd_->log();
    EXPECT_TRUE(cri_->pods().empty());

    const auto claimed = cri_->run_pod(request, &id, kClientTimeout);
    ASSERT_TRUE(claimed.ok()) << claimed.error_message() << "\n" << berthd_->log();
    const auto pods = cri_->pods();
    ASSERT_EQ(pods.size(), 1u);
    EXPECT_EQ(pods[0].id(), id);
    EXPECT_EQ(pods[0].state(), v1::SANDBOX_READY);
    EXPECT_EQ(allocated_addresses(), 1);
}

// --- CreateContainer with a runtime whose create takes 6 s -----------------

class RetriedCreateContainerTest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        registry_ = new TestRegistry();
        ASSERT_TRUE(registry_->start()) << registry_->log();
        registry_->push("busybox:multi");
    }
    static void TearDownTestSuite() {
        delete registry_;
        registry_ = nullptr;
    }

    // A berthd with handler "slow" (runc, 6 s late on create), busybox
    // pulled and a host-network pod of that handler.
    void start(int unclaimed_timeout = 120) {
        berthd_ = std::make_unique<BerthdInstance>();
        const std::string wrapper =
            berthd_->dir().write("slow-runc",
                                 "#!/bin/sh\n"
                                 "# runc, 6 s late on create.\n"
                                 "for arg in \"$@\"; do\n"
                                 "  if [ \"$arg\" = create ]; then sleep 6; break; fi\n"
                                 "done\n"
                                 "exec " +
                                     find_runc() + " \"$@\"\n");
        ::chmod(wrapper.c_str(), 0755);
        berthd_->dir().write(
            "berth.conf.d/50-retries.conf",
            "[berth.api]\nunclaimed_result_timeout = " + std::to_string(unclaimed_timeout) +
                "\n[berth.runtime.runtimes.slow]\nruntime_path = \"" + wrapper +
                "\"\nruntime_root = \"" + slow_root() + "\"\n");
        ASSERT_TRUE(berthd_->start()) << berthd_->log();
        cri_ = std::make_unique<CriSession>(*berthd_);
        cri_->pull(image());
        pod_ = cri_->run_pod("pod", "", "slow");
        ASSERT_FALSE(pod_.empty());
    }

    void TearDown() override {
        if (cri_ && berthd_->process().running())
            cri_->remove_all_pods();
        cri_.reset();
        berthd_.reset();
    }

    std::string slow_root() const { return berthd_->runtime_root("slow"); }
    static std::string image() { return registry_->host() + "/busybox:multi"; }
    v1::ContainerConfig container(const std::string& command) const {
        return CriSession::container("sleeper", image(), {"sh", "-c", command});
    }

    // The containers runc knows in the slow handler's root.
    std::vector<std::string> runc_containers() const {
        const auto listed = run_command(find_runc() + " --root " + slow_root() + " list -q");
        std::vector<std::string> ids;
        std::istringstream lines(listed.output);
        for (std::string line; std::getline(lines, line);) {
            if (!line.empty())
                ids.push_back(line);
        }
        return ids;
    }

    Attempts retry(const v1::ContainerConfig& config) {
        return retry_until_ok(
            [&](std::string* id) { return cri_->create(pod_, config, id, kClientTimeout); });
    }

    static TestRegistry* registry_;
    std::unique_ptr<BerthdInstance> berthd_;
    std::unique_ptr<CriSession> cri_;
    std::string pod_;
};

TestRegistry* RetriedCreateContainerTest::registry_ = nullptr;

TEST_F(RetriedCreateContainerTest, RetriesGetTheContainerOfTheSlowCall) {
    ASSERT_NO_FATAL_FAILURE(start());
    const auto config = container("sleep 1000");
    const auto attempts = retry(config);
    ASSERT_TRUE(attempts.last.ok()) << attempts.describe() << "\n" << berthd_->log();
    EXPECT_EQ(attempts.codes.front(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_FALSE(attempts.saw(grpc::StatusCode::ALREADY_EXISTS)) << attempts.describe();

    // One container, the one the retry got, and runc made only that one.
    const auto containers = cri_->containers();
    ASSERT_EQ(containers.size(), 1u);
    EXPECT_EQ(containers[0].id(), attempts.id);
    EXPECT_EQ(containers[0].state(), v1::CONTAINER_CREATED);
    EXPECT_EQ(runc_containers(), std::vector<std::string>{attempts.id});
    const auto started = cri_->start(attempts.id);
    EXPECT_TRUE(started.ok()) << started.error_message();
    EXPECT_EQ(cri_->status(attempts.id).status().state(), v1::CONTAINER_RUNNING);

    // Another config for the same name is still refused.
    std::string id;
    const auto refused = cri_->create(pod_, container("sleep 2000"), &id);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::ALREADY_EXISTS) << refused.error_message();
    EXPECT_EQ(cri_->containers().size(), 1u);
}

TEST_F(RetriedCreateContainerTest, ContainerNobodyAskedForAgainIsRemoved) {
    ASSERT_NO_FATAL_FAILURE(start(3));
    std::string id;
    EXPECT_EQ(cri_->create(pod_, container("sleep 1000"), &id, kClientTimeout).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
    ASSERT_TRUE(berthd_->wait_for_log("nobody asked again for container", 20s)) << berthd_->log();
    ASSERT_TRUE(berthd_->wait_for_log("removed unclaimed container", 10s)) << berthd_->log();
    EXPECT_EQ(entries_in(berthd_->dir() / "root/containers"), 0);
    EXPECT_EQ(runc_containers(), std::vector<std::string>{});
    EXPECT_TRUE(cri_->containers().empty());

    // Its name is free for any request.
    const auto fresh = cri_->create(pod_, container("sleep 2000"), &id);
    EXPECT_TRUE(fresh.ok()) << fresh.error_message();
}

TEST_F(RetriedCreateContainerTest, StoppingBerthdDuringTheCallKeepsTheContainerForTheRetry) {
    ASSERT_NO_FATAL_FAILURE(start());
    const auto config = container("sleep 1000");
    std::string id;
    EXPECT_EQ(cri_->create(pod_, config, &id, kClientTimeout).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
    cri_.reset();
    ASSERT_TRUE(berthd_->stop_and_restart()) << berthd_->log();
    cri_ = std::make_unique<CriSession>(*berthd_);
    EXPECT_NE(berthd_->log().find(") kept for a retry"), std::string::npos) << berthd_->log();
    EXPECT_TRUE(cri_->containers().empty());

    const auto claimed = cri_->create(pod_, config, &id, kClientTimeout);
    ASSERT_TRUE(claimed.ok()) << claimed.error_message() << "\n" << berthd_->log();
    const auto containers = cri_->containers();
    ASSERT_EQ(containers.size(), 1u);
    EXPECT_EQ(containers[0].id(), id);
    EXPECT_EQ(runc_containers(), std::vector<std::string>{id});
    const auto started = cri_->start(id);
    EXPECT_TRUE(started.ok()) << started.error_message();
}

}  // namespace
