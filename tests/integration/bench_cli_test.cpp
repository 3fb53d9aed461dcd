// berth-bench against a real berthd (runc, a real registry): the pod and
// container scenarios with two iterations, two endpoints side by side, an
// endpoint that does not answer, and a run whose calls fail; the daemon's
// memory and CPU figures.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

using berth::test::BerthdInstance;
using berth::test::deadline_context;
using berth::test::read_file;
using berth::test::run_command;
using berth::test::TempDir;
using berth::test::TestRegistry;

namespace {

class BenchCliTest : public testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(registry_.start()) << registry_.log();
        registry_.push("busybox:multi");
        ASSERT_TRUE(berthd_.start()) << berthd_.log();
    }

    // berth-bench with short runs against the test's berthd; no CNI network
    // in the test daemon, so pods use the host's.
    berth::test::CommandResult bench(const std::string& arguments) {
        return run_command(std::string(BERTH_BENCH_PATH) + " -q --host-network -i " +
                           registry_.host() + "/busybox:multi --stop-timeout 2 " + arguments +
                           " 2>&1");
    }

    std::string endpoint() const { return "unix://" + berthd_.socket_path(); }

    std::size_t pods_left() {
        runtime::v1::ListPodSandboxRequest request;
        runtime::v1::ListPodSandboxResponse response;
        EXPECT_TRUE(
            berthd_.runtime()->ListPodSandbox(deadline_context().get(), request, &response).ok());
        return static_cast<std::size_t>(response.items_size());
    }

    TestRegistry registry_;
    BerthdInstance berthd_;
    TempDir files_;
};

TEST_F(BenchCliTest, PodAndContainerScenariosReportEveryOperation) {
    const std::string json_file = files_ / "out.json";
    const auto result =
        bench("-r " + endpoint() + " -s pod,container -n 2 --rounds 2 -w 1 --json " + json_file);
    ASSERT_EQ(result.exit_code, 0) << result.output << berthd_.log();
    for (const char* operation :
         {"RunPodSandbox", "PodSandboxStatus", "StopPodSandbox", "RemovePodSandbox",
          "CreateContainer", "StartContainer", "ContainerStatus", "StopContainer",
          "RemoveContainer", "CreateContainer+StartContainer", "p50 ms", "p99 ms", "ops/s"}) {
        EXPECT_NE(result.output.find(operation), std::string::npos) << operation << "\n"
                                                                    << result.output;
    }
    EXPECT_EQ(result.output.find("ERRORS"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("berthd"), std::string::npos) << result.output;  // the label

    const auto document = nlohmann::json::parse(read_file(json_file));
    EXPECT_EQ(document.at("errors"), 0);
    ASSERT_EQ(document.at("scenarios").size(), 2u);
    EXPECT_GT(document.at("endpoints").at(0).at("daemon_rss_kb_idle").get<long>(), 0);
    const auto& pod = document.at("scenarios").at(0);
    EXPECT_EQ(pod.at("name"), "pod");
    const auto& pod_ops = pod.at("results").at(0).at("operations");
    for (const char* operation :
         {"RunPodSandbox", "PodSandboxStatus", "StopPodSandbox", "RemovePodSandbox"}) {
        ASSERT_TRUE(pod_ops.contains(operation)) << pod_ops.dump(2);
        EXPECT_EQ(pod_ops.at(operation).at("count"), 2) << operation;
        EXPECT_EQ(pod_ops.at(operation).at("errors"), 0) << operation;
        EXPECT_EQ(pod_ops.at(operation).at("samples_ms").size(), 2u) << operation;
        EXPECT_GT(pod_ops.at(operation).at("p50_ms").get<double>(), 0) << operation;
    }
    const auto& container_ops = document.at("scenarios").at(1).at("results").at(0).at("operations");
    for (const char* operation : {"CreateContainer", "StartContainer", "ContainerStatus",
                                  "StopContainer", "RemoveContainer"}) {
        ASSERT_TRUE(container_ops.contains(operation)) << container_ops.dump(2);
        EXPECT_EQ(container_ops.at(operation).at("count"), 2) << operation;
        EXPECT_EQ(container_ops.at(operation).at("errors"), 0) << operation;
    }
    EXPECT_GT(document.at("scenarios").at(1).at("results").at(0).at("daemon_rss_kb").at("max"), 0);
    // berthd's CPU in the timed rounds: it runs runc itself and waits for
    // it, so the children's share cannot be zero (tens of ms per runc call).
    const auto& cpu = document.at("scenarios").at(1).at("results").at(0).at("daemon_cpu_ms");
    EXPECT_EQ(cpu.at("timed_iterations"), 2) << cpu.dump();  // -n 2, over both rounds
    EXPECT_GE(cpu.at("own").get<double>(), 0) << cpu.dump();
    EXPECT_GT(cpu.at("children").get<double>(), 0) << cpu.dump();
    EXPECT_NE(result.output.find("daemon CPU per timed iteration"), std::string::npos)
        << result.output;
    // Everything it made is gone again.
    EXPECT_EQ(pods_left(), 0u);
}

// kubelet's layout: the pod's log directory <namespace>_<name>_<uid> with a
// directory per container holding <restart count>.log, and a pod cgroup below
// the cgroup root that berth-bench makes first and removes at the end.
TEST_F(BenchCliTest, PodsGetKubeletsLogLayoutAndTheirCgroupsAreRemoved) {
    namespace fs = std::filesystem;
    const fs::path logs = files_ / "logs";
    const std::string cgroup_root = "/berth-bench-test-" + std::to_string(::getpid());
    const auto result = bench("-r " + endpoint() + " -s scratch -n 1 --rounds 1 -w 0 --log-dir " +
                              logs.string() + " --cgroup-root " + cgroup_root);
    ASSERT_EQ(result.exit_code, 0) << result.output << berthd_.log();
    std::size_t pod_directories = 0;
    for (const auto& entry : fs::directory_iterator(logs)) {
        const auto name = entry.path().filename().string();
        EXPECT_EQ(name.rfind("berth-bench_bench-scratch-", 0), 0u) << name;
        EXPECT_TRUE(fs::exists(entry.path() / "work" / "0.log")) << entry.path();
        ++pod_directories;
    }
    EXPECT_EQ(pod_directories, 1u);
    for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup")) {
        EXPECT_FALSE(fs::exists(hierarchy.path() / cgroup_root.substr(1)))
            << hierarchy.path() << " still has " << cgroup_root;
    }
    EXPECT_EQ(pods_left(), 0u);
}

TEST_F(BenchCliTest, TwoEndpointsSideBySideWithRatios) {
    const std::string json_file = files_ / "two.json";
    const auto result = bench("-r A=" + endpoint() + " -r B=" + endpoint() +
                              " -s pod -n 2 -w 0 --json " + json_file);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("p50 vs A"), std::string::npos) << result.output;
    const auto document = nlohmann::json::parse(read_file(json_file));
    const auto& results = document.at("scenarios").at(0).at("results");
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results.at(0).at("endpoint"), "A");
    EXPECT_EQ(results.at(1).at("endpoint"), "B");
    EXPECT_TRUE(results.at(1).at("operations").at("RunPodSandbox").contains("p50_ratio_to_first"));
    EXPECT_EQ(results.at(1).at("operations").at("RunPodSandbox").at("count"), 2);
}

TEST_F(BenchCliTest, AnEndpointThatDoesNotAnswerIsAClearFailure) {
    auto result = bench("-r unix:///nonexistent/berth-bench.sock -s pod -n 1");
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_NE(result.output.find("cannot reach unix:///nonexistent/berth-bench.sock"),
              std::string::npos)
        << result.output;
    result = bench("-r tcp://127.0.0.1:1 -s pod -n 1");
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_NE(result.output.find("is not supported"), std::string::npos) << result.output;
}

TEST_F(BenchCliTest, FailedCallsAreCountedShownAndFailTheRun) {
    const auto result =
        run_command(std::string(BERTH_BENCH_PATH) + " -q --host-network -r " + endpoint() +
                    " -s container -n 1 -w 0 -i " + registry_.host() + "/no/such-image:1 2>&1");
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("ERRORS: "), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("setup: PullImage"), std::string::npos) << result.output;
    EXPECT_EQ(pods_left(), 0u);
}

}  // namespace
