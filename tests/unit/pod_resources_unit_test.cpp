// UpdatePodSandboxResources below the RPC: validation, the pod-level sum of
// resources and overhead, and the cgroup v1 and v2 files written, against
// fake hierarchies (directories holding the files a controller would have).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sandbox/pod_resources.hpp"
#include "status_error.hpp"
#include "temp_dir.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::daemon::StatusError;
using berth::test::TempDir;
using namespace berth::daemon::sandbox;

namespace {

const std::string kPod = "/kubepods/pod1/berth-0123";

std::string read(const std::string& file) {
    std::ifstream in(file);
    std::string text;
    std::getline(in, text, '\0');
    return text;
}

// A hierarchy root with the pod's directory and the given files in it.
std::string hierarchy(const TempDir& dir, const std::string& name,
                      const std::vector<std::string>& files) {
    for (const auto& file : files)
        dir.write(name + kPod + "/" + file, "");
    return dir / name;
}

grpc::StatusCode code_of(const std::function<void()>& body) {
    try {
        body();
    } catch (const StatusError& error) {
        return error.code();
    }
    return grpc::StatusCode::OK;
}

TEST(UpdatePodSandboxResourcesUnit, WritesCgroupV1Files) {
    TempDir dir;
    const std::vector<std::string> roots = {
        hierarchy(dir, "cpu", {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"}),
        hierarchy(dir, "cpuset", {"cpuset.cpus", "cpuset.mems"}),
        hierarchy(dir, "memory", {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}),
        hierarchy(dir, "hugetlb", {"hugetlb.2MB.limit_in_bytes"}),
        hierarchy(dir, "pids", {"pids.max"}),
    };
    v1::LinuxContainerResources resources;
    resources.set_cpu_shares(512);
    resources.set_cpu_period(50000);
    resources.set_cpu_quota(25000);
    resources.set_cpuset_cpus("0");
    resources.set_cpuset_mems("0");
    resources.set_memory_limit_in_bytes(64 << 20);
    auto* hugepage = resources.add_hugepage_limits();
    hugepage->set_page_size("2MB");
    hugepage->set_limit(4 << 20);
    const auto written = apply_pod_resources(kPod, resources, roots);
    EXPECT_EQ(written.size(), 8u);
    EXPECT_EQ(read(roots[0] + kPod + "/cpu.shares"), "512");
    EXPECT_EQ(read(roots[0] + kPod + "/cpu.cfs_period_us"), "50000");
    EXPECT_EQ(read(roots[0] + kPod + "/cpu.cfs_quota_us"), "25000");
    EXPECT_EQ(read(roots[1] + kPod + "/cpuset.cpus"), "0");
    EXPECT_EQ(read(roots[2] + kPod + "/memory.limit_in_bytes"), std::to_string(64 << 20));
    // No swap beyond the memory limit unless asked.
    EXPECT_EQ(read(roots[2] + kPod + "/memory.memsw.limit_in_bytes"), std::to_string(64 << 20));
    EXPECT_EQ(read(roots[3] + kPod + "/hugetlb.2MB.limit_in_bytes"), std::to_string(4 << 20));
    EXPECT_EQ(read(roots[4] + kPod + "/pids.max"), "");  // nothing asked of it

    v1::LinuxContainerResources unlimited;
    unlimited.set_cpu_quota(-1);
    apply_pod_resources(kPod, unlimited, roots);
    EXPECT_EQ(read(roots[0] + kPod + "/cpu.cfs_quota_us"), "-1");
}

TEST(UpdatePodSandboxResourcesUnit, WritesCgroupV2Files) {
    TempDir dir;
    const std::vector<std::string> roots = {
        hierarchy(dir, "unified",
                  {"cgroup.controllers", "cpu.weight", "cpu.max", "cpuset.cpus", "memory.max",
                   "memory.swap.max", "hugetlb.2MB.max", "pids.max"})};
    dir.write("unified" + kPod + "/cpu.max", "max 100000\n");
    v1::LinuxContainerResources resources;
    resources.set_cpu_shares(1024);
    resources.set_cpu_quota(50000);
    resources.set_memory_limit_in_bytes(128 << 20);
    resources.set_memory_swap_limit_in_bytes(192 << 20);
    (*resources.mutable_unified())["pids.max"] = "100";
    apply_pod_resources(kPod, resources, roots);
    const std::string pod = roots[0] + kPod;
    EXPECT_EQ(read(pod + "/cpu.weight"), "39");  // runc's conversion of 1024 shares
    EXPECT_EQ(read(pod + "/cpu.max"), "50000 100000");
    EXPECT_EQ(read(pod + "/memory.max"), std::to_string(128 << 20));
    EXPECT_EQ(read(pod + "/memory.swap.max"), std::to_string(64 << 20));  // swap alone
    EXPECT_EQ(read(pod + "/pids.max"), "100");

    v1::LinuxContainerResources period_only;
    period_only.set_cpu_period(20000);
    apply_pod_resources(kPod, period_only, roots);
    EXPECT_EQ(read(pod + "/cpu.max"), "50000 20000");  // the quota kept
}

TEST(UpdatePodSandboxResourcesUnit, CpuSharesConvertAsRuncDoes) {
    EXPECT_EQ(cpu_weight_from_shares(0), 0u);
    EXPECT_EQ(cpu_weight_from_shares(2), 1u);
    EXPECT_EQ(cpu_weight_from_shares(1024), 39u);
    EXPECT_EQ(cpu_weight_from_shares(262144), 10000u);
}

TEST(UpdatePodSandboxResourcesUnit, ALimitWithNowhereToGoIsAFailedPrecondition) {
    TempDir dir;
    const std::vector<std::string> v1_only = {hierarchy(dir, "cpu", {"cpu.shares"})};
    v1::LinuxContainerResources memory;
    memory.set_memory_limit_in_bytes(1 << 30);
    EXPECT_EQ(code_of([&] { apply_pod_resources(kPod, memory, v1_only); }),
              grpc::StatusCode::FAILED_PRECONDITION);
    v1::LinuxContainerResources unified;
    (*unified.mutable_unified())["memory.high"] = "1G";
    EXPECT_EQ(code_of([&] { apply_pod_resources(kPod, unified, v1_only); }),
              grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(code_of([&] { apply_pod_resources("/no/such/pod", memory, v1_only); }),
              grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(code_of([&] { apply_pod_resources("", memory, v1_only); }),
              grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(UpdatePodSandboxResourcesUnit, BadValuesAreInvalidArguments) {
    auto invalid = [](const std::function<void(v1::LinuxContainerResources&)>& spoil) {
        v1::LinuxContainerResources resources;
        spoil(resources);
        return code_of([&] { pod_level_resources({}, resources); }) ==
               grpc::StatusCode::INVALID_ARGUMENT;
    };
    EXPECT_TRUE(invalid([](auto& r) { r.set_cpu_shares(1); }));
    EXPECT_TRUE(invalid([](auto& r) { r.set_cpu_shares(300000); }));
    EXPECT_TRUE(invalid([](auto& r) { r.set_cpu_period(10); }));
    EXPECT_TRUE(invalid([](auto& r) { r.set_cpu_quota(5); }));
    EXPECT_TRUE(invalid([](auto& r) { r.set_memory_limit_in_bytes(-5); }));
    EXPECT_TRUE(invalid([](auto& r) {
        r.set_memory_limit_in_bytes(100 << 20);
        r.set_memory_swap_limit_in_bytes(50 << 20);
    }));
    EXPECT_TRUE(invalid([](auto& r) { r.set_cpuset_cpus("0-3;rm -rf"); }));
    EXPECT_TRUE(invalid([](auto& r) {
        auto* h = r.add_hugepage_limits();
        h->set_page_size("../../etc");
    }));
    EXPECT_TRUE(invalid([](auto& r) { (*r.mutable_unified())["../cgroup.procs"] = "1"; }));
    EXPECT_TRUE(invalid([](auto& r) { (*r.mutable_unified())["cgroup.procs"] = "1"; }));
    EXPECT_TRUE(invalid([](auto& r) { (*r.mutable_unified())["memory.max"] = "1\n2"; }));
    EXPECT_FALSE(invalid([](auto& r) {
        r.set_cpu_shares(2);
        r.set_cpu_quota(-1);
        r.set_cpuset_cpus("0-3,6");
        (*r.mutable_unified())["memory.high"] = "max";
    }));
    v1::LinuxContainerResources bad_overhead;
    bad_overhead.set_cpu_period(1);
    try {
        pod_level_resources(bad_overhead, {});
        ADD_FAILURE() << "a bad overhead passed";
    } catch (const StatusError& error) {
        EXPECT_NE(std::string(error.what()).find("overhead.cpu_period"), std::string::npos)
            << error.what();
    }
}

TEST(UpdatePodSandboxResourcesUnit, ThePodGetsTheContainersSumPlusItsOverhead) {
    v1::LinuxContainerResources resources;
    resources.set_cpu_shares(1024);
    resources.set_cpu_quota(100000);
    resources.set_memory_limit_in_bytes(256 << 20);
    resources.set_oom_score_adj(500);
    v1::LinuxContainerResources overhead;
    overhead.set_cpu_shares(256);
    overhead.set_cpu_quota(25000);
    overhead.set_cpu_period(50000);  // scaled to the pod's 100 ms period
    overhead.set_memory_limit_in_bytes(64 << 20);
    const auto total = pod_level_resources(overhead, resources);
    EXPECT_EQ(total.cpu_shares(), 1280);
    EXPECT_EQ(total.cpu_quota(), 150000);
    EXPECT_EQ(total.memory_limit_in_bytes(), 320 << 20);
    EXPECT_EQ(total.oom_score_adj(), 0);

    // An unlimited pod stays unlimited whatever its overhead.
    const auto open = pod_level_resources(overhead, {});
    EXPECT_EQ(open.memory_limit_in_bytes(), 0);
    EXPECT_EQ(open.cpu_quota(), 0);
}

}  // namespace
