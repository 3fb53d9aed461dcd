// Resources and checkpoints on a real berthd with real runc and cgroups:
// UpdatePodSandboxResources reaches the pod's own cgroup and is recorded,
// UpdateContainerResources reaches the container's (memory and the pids
// limit) and shows in ContainerStatus, and CheckpointContainer either writes
// an archive or, where CRIU cannot work on the host, says exactly why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "cri_session.hpp"
#include "cri_test.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::CriSession;
using berth::test::CriTest;
using berth::test::deadline_context;
using berth::test::read_file;
using berth::test::run_command;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

class ResourcesTest : public CriTest {
protected:
    static void SetUpTestSuite() { start_registry({"busybox:multi"}); }

    void SetUp() override { start_daemon({}, {"busybox:multi"}); }

    void TearDown() override {
        CriTest::TearDown();
        // kubelet's part of the tree, which berthd never removes.
        if (!cgroup_parent_.empty()) {
            for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup")) {
                std::error_code ignored;
                fs::remove(entry.path() / cgroup_parent_.substr(1), ignored);
            }
        }
    }

    static std::string image() { return reference("busybox:multi"); }

    // A cgroup parent of this test process's own, as kubelet's pod<uid>.
    std::string pod_with_cgroup(const std::string& name) {
        static std::atomic<int> counter{0};
        cgroup_parent_ =
            "/berth-resources-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
        return cri_->run_pod(name, cgroup_parent_);
    }

    std::string cgroup_of_container(const std::string& id) {
        const auto response = cri_->status(id, true);
        return nlohmann::json::parse(response.info().at("info"))
            .at("runtimeSpec")
            .at("linux")
            .at("cgroupsPath");
    }

    grpc::Status update_pod(const std::string& pod, const v1::LinuxContainerResources* resources,
                            const v1::LinuxContainerResources* overhead = nullptr) {
        v1::UpdatePodSandboxResourcesRequest request;
        request.set_pod_sandbox_id(pod);
        if (resources != nullptr)
            *request.mutable_resources() = *resources;
        if (overhead != nullptr)
            *request.mutable_overhead() = *overhead;
        v1::UpdatePodSandboxResourcesResponse response;
        auto context = deadline_context();
        return cri_->runtime().UpdatePodSandboxResources(context.get(), request, &response);
    }

    grpc::Status update_container(const std::string& id,
                                  const v1::LinuxContainerResources& resources) {
        v1::UpdateContainerResourcesRequest request;
        request.set_container_id(id);
        *request.mutable_linux() = resources;
        v1::UpdateContainerResourcesResponse response;
        auto context = deadline_context(30s);
        return cri_->runtime().UpdateContainerResources(context.get(), request, &response);
    }

    std::string cgroup_parent_;
};

TEST_F(ResourcesTest, UpdatePodSandboxResourcesReachesThePodCgroupAndIsRecorded) {
    if (!fs::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
        GTEST_SKIP() << "SKIPPED: no cgroup v1 memory hierarchy to read the pod's limits from";
    }
    const auto pod = pod_with_cgroup("sized");
    ASSERT_FALSE(pod.empty());
    const std::string cgroup =
        nlohmann::json::parse(cri_->pod_status(pod, true).info().at("info")).at("cgroup");
    ASSERT_EQ(cgroup, cgroup_parent_ + "/berth-" + pod);

    v1::LinuxContainerResources resources;
    resources.set_memory_limit_in_bytes(256 << 20);
    resources.set_cpu_shares(512);
    resources.set_cpu_period(100000);
    resources.set_cpu_quota(50000);
    v1::LinuxContainerResources overhead;
    overhead.set_memory_limit_in_bytes(32 << 20);
    overhead.set_cpu_shares(128);
    const auto result = update_pod(pod, &resources, &overhead);
    ASSERT_TRUE(result.ok()) << result.error_message() << daemon_->log();

    // What the pod as a whole may use: its containers' sum plus overhead.
    EXPECT_EQ(read_file("/sys/fs/cgroup/memory" + cgroup + "/memory.limit_in_bytes"),
              std::to_string(288 << 20) + "\n");
    EXPECT_EQ(read_file("/sys/fs/cgroup/cpu" + cgroup + "/cpu.shares"), "640\n");
    EXPECT_EQ(read_file("/sys/fs/cgroup/cpu" + cgroup + "/cpu.cfs_quota_us"), "50000\n");
    EXPECT_EQ(read_file("/sys/fs/cgroup/cpu" + cgroup + "/cpu.cfs_period_us"), "100000\n");

    // Lowering works too (memory before memory+swap, as the kernel wants).
    v1::LinuxContainerResources smaller;
    smaller.set_memory_limit_in_bytes(128 << 20);
    ASSERT_TRUE(update_pod(pod, &smaller).ok());
    EXPECT_EQ(read_file("/sys/fs/cgroup/memory" + cgroup + "/memory.limit_in_bytes"),
              std::to_string(128 << 20) + "\n");

    // Recorded with the pod, and so still known after a crash.
    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    cri_ = std::make_unique<CriSession>(*daemon_);
    const auto record = nlohmann::json::parse(
        read_file(daemon_->dir() / ("root/sandboxes/" + pod + "/sandbox.json")));
    const auto& linux = record.at("config").at("linux");
    EXPECT_EQ(std::stoll(linux.at("resources").at("memory_limit_in_bytes").get<std::string>()),
              128 << 20);
    EXPECT_EQ(linux.count("overhead"), 0u);  // the second update had none

    // Bad input, unknown pods.
    v1::LinuxContainerResources bad;
    bad.set_cpu_shares(1);
    EXPECT_EQ(update_pod(pod, &bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(update_pod(pod, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(update_pod("ffffffffffff", &smaller).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(update_pod("", &smaller).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(read_file("/sys/fs/cgroup/memory" + cgroup + "/memory.limit_in_bytes"),
              std::to_string(128 << 20) + "\n");

    // A pod without a cgroup of its own has nowhere to put them.
    const auto bare = cri_->run_pod("bare");
    const auto refused = update_pod(bare, &smaller);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(refused.error_message().find("cgroup_parent"), std::string::npos)
        << refused.error_message();
}

TEST_F(ResourcesTest, UpdateContainerResourcesChangesMemoryAndPidsAndShowsInStatus) {
    if (!fs::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") ||
        !fs::exists("/sys/fs/cgroup/pids")) {
        GTEST_SKIP() << "SKIPPED: no cgroup v1 memory and pids hierarchies to read limits from";
    }
    // runc: crun 1.8 cannot lift a pids limit on cgroup v1 (it writes -1,
    // which the kernel refuses), and this test lifts one (containers.md).
    const auto pod = cri_->run_pod("update", "", "runc");
    auto config = CriSession::container("limited", image(), {"sleep", "1000"});
    config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(128 << 20);
    const auto id = cri_->run(pod, config);
    ASSERT_FALSE(id.empty());
    const std::string cgroup = cgroup_of_container(id);
    EXPECT_EQ(read_file("/sys/fs/cgroup/memory" + cgroup + "/memory.limit_in_bytes"),
              std::to_string(128 << 20) + "\n");

    v1::LinuxContainerResources resources;
    resources.set_memory_limit_in_bytes(64 << 20);
    resources.set_cpu_shares(256);
    (*resources.mutable_unified())["pids.max"] = "42";
    const auto result = update_container(id, resources);
    ASSERT_TRUE(result.ok()) << result.error_message();
    EXPECT_EQ(read_file("/sys/fs/cgroup/memory" + cgroup + "/memory.limit_in_bytes"),
              std::to_string(64 << 20) + "\n");
    EXPECT_EQ(read_file("/sys/fs/cgroup/pids" + cgroup + "/pids.max"), "42\n");
    EXPECT_EQ(read_file("/sys/fs/cgroup/cpu" + cgroup + "/cpu.shares"), "256\n");
    const auto status = cri_->status(id).status();
    EXPECT_EQ(status.resources().linux().memory_limit_in_bytes(), 64 << 20);
    EXPECT_EQ(status.resources().linux().cpu_shares(), 256);
    EXPECT_EQ(status.resources().linux().unified().at("pids.max"), "42");

    // "max" lifts the limit; nonsense is refused before anything changes.
    v1::LinuxContainerResources unlimited;
    (*unlimited.mutable_unified())["pids.max"] = "max";
    const auto lifted = update_container(id, unlimited);
    ASSERT_TRUE(lifted.ok()) << lifted.error_message();
    EXPECT_EQ(read_file("/sys/fs/cgroup/pids" + cgroup + "/pids.max"), "max\n");
    v1::LinuxContainerResources nonsense;
    (*nonsense.mutable_unified())["pids.max"] = "lots";
    EXPECT_EQ(update_container(id, nonsense).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(cri_->status(id).status().resources().linux().unified().at("pids.max"), "max");
}

TEST_F(ResourcesTest, CheckpointContainerWritesAnArchiveOrSaysWhyCriuCannot) {
    const auto pod = cri_->run_pod("checkpoint");
    const auto id = cri_->run(pod, CriSession::container("counter", image(),
                                                         {"sh", "-c",
                                                          "i=0; while true; do i=$((i+1)); "
                                                          "echo $i > /tmp/count; sleep 0.1; "
                                                          "done"}));
    ASSERT_FALSE(id.empty());
    const std::string archive = daemon_->dir() / "checkpoint.tar";

    // What the host allows decides the outcome; both are checked.
    const auto criu = run_command("criu check 2>&1");
    std::string first_error;
    {
        std::istringstream lines(criu.output);
        std::string line;
        while (std::getline(lines, line)) {
            if (line.rfind("Error", 0) == 0) {
                first_error = line;
                break;
            }
        }
    }
    const auto result = cri_->checkpoint(id, archive);
    if (criu.exit_code == 0) {
        std::printf("CheckpointTest: CRIU works on this host: expecting an archive\n");
        ASSERT_TRUE(result.ok()) << result.error_message() << daemon_->log();
        const auto listing = run_command("tar -tf " + archive);
        ASSERT_EQ(listing.exit_code, 0) << listing.output;
        for (const char* entry :
             {"checkpoint/", "config.dump", "spec.dump", "dump.log", "rootfs-diff.tar"}) {
            EXPECT_NE(listing.output.find(entry), std::string::npos) << entry << listing.output;
        }
        EXPECT_EQ(fs::status(archive).permissions() & fs::perms::all,
                  fs::perms::owner_read | fs::perms::owner_write);
    } else {
        std::printf(
            "CheckpointTest: CRIU cannot run on this host (`criu check`: %s): "
            "expecting FAILED_PRECONDITION naming why\n",
            first_error.c_str());
        std::printf("CheckpointTest: berthd answered %d: %s\n",
                    static_cast<int>(result.error_code()), result.error_message().c_str());
        EXPECT_EQ(result.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
            << result.error_message();
        EXPECT_NE(result.error_message().find("criu check"), std::string::npos)
            << result.error_message();
        if (!first_error.empty()) {
            EXPECT_NE(result.error_message().find(first_error), std::string::npos)
                << result.error_message();
        }
        EXPECT_FALSE(fs::exists(archive));
    }
    // Either way the container goes on running, not left frozen.
    EXPECT_EQ(cri_->status(id).status().state(), v1::CONTAINER_RUNNING);
    const std::string cgroup = cgroup_of_container(id);
    if (fs::exists("/sys/fs/cgroup/freezer" + cgroup + "/freezer.state")) {
        EXPECT_EQ(trimmed(read_file("/sys/fs/cgroup/freezer" + cgroup + "/freezer.state")),
                  "THAWED");
    }
    const std::string counter =
        daemon_->dir() / ("root/storage/containers/" + id + "/merged/tmp/count");
    const std::string first = read_file(counter);
    std::string later = first;
    for (int i = 0; i < 50 && later == first; ++i) {
        std::this_thread::sleep_for(100ms);
        later = read_file(counter);
    }
    EXPECT_NE(later, first) << "the container's loop stopped counting";

    // berthctl: a relative --export is the caller's, not berthd's.
    const auto cli =
        run_command("cd " + daemon_->dir().path().string() + " && " BERTHCTL_PATH " -r unix://" +
                    daemon_->socket_path() + " checkpoint " + id + " --export by-cli.tar 2>&1");
    if (criu.exit_code == 0) {
        EXPECT_EQ(cli.exit_code, 0) << cli.output;
        EXPECT_TRUE(fs::exists(daemon_->dir() / "by-cli.tar"));
    } else {
        EXPECT_EQ(cli.exit_code, 1) << cli.output;
        EXPECT_NE(cli.output.find("CheckpointContainer"), std::string::npos) << cli.output;
        EXPECT_NE(cli.output.find("criu check"), std::string::npos) << cli.output;
    }

    // Requests that cannot be.
    EXPECT_EQ(cri_->checkpoint(id, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(cri_->checkpoint(id, "relative.tar").error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(cri_->checkpoint(id, daemon_->dir() / "no/such/dir/c.tar").error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(cri_->checkpoint("ffffffffffff", archive).error_code(), grpc::StatusCode::NOT_FOUND);
    ASSERT_TRUE(cri_->stop(id).ok());
    const auto stopped = cri_->checkpoint(id, archive + ".2");
    EXPECT_EQ(stopped.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(stopped.error_message().find("not running"), std::string::npos)
        << stopped.error_message();
}

}  // namespace
