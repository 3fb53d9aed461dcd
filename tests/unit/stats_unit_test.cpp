// Stats without containers: cgroup v1 and v2 files read from fake trees,
// the working-set arithmetic, usage_nano_cores from two samples, cgroup
// paths in both drivers' forms, disk usage, network counters, metrics that
// match their descriptors, and files that are missing or malformed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <system_error>

#include "berth/config/config.hpp"
#include "berth/storage/image_storage.hpp"
#include "container/container.hpp"
#include "sandbox/sandbox_store.hpp"
#include "server/stats_filters.hpp"
#include "stats/cgroup_files.hpp"
#include "stats/cgroup_layout.hpp"
#include "stats/cgroup_path.hpp"
#include "stats/cgroup_sample.hpp"
#include "stats/cpu_rate.hpp"
#include "stats/cri_stats.hpp"
#include "stats/disk_usage.hpp"
#include "stats/metric_descriptors.hpp"
#include "stats/net_dev.hpp"
#include "stats/pod_metrics.hpp"
#include "stats/stats_collector.hpp"
#include "temp_dir.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using namespace berth::daemon;
using namespace berth::daemon::stats;
using berth::test::TempDir;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
// What v1 says for "no limit" on x86_64.
constexpr const char* kV1Unlimited = "9223372036854771712\n";

// A v1 layout like this project's machines: cpu and cpuacct mounted apart.
CgroupLayout fake_v1_layout(const TempDir& dir) {
    CgroupLayout layout;
    for (const char* controller : {"cpu", "cpuacct", "memory", "pids"}) {
        layout.v1_roots[controller] = dir / controller;
    }
    return layout;
}

CgroupLayout fake_v2_layout(const TempDir& dir) {
    CgroupLayout layout;
    layout.unified = true;
    layout.unified_root = dir / "unified";
    return layout;
}

// memory.stat of a v1 cgroup with hierarchy accounting (total_* keys).
std::string v1_memory_stat(std::uint64_t inactive_file, std::uint64_t rss) {
    return "cache 999\nrss 1\ninactive_file 7\npgfault 3\n"
           "total_cache " +
           std::to_string(inactive_file + 4096) + "\ntotal_rss " + std::to_string(rss) +
           "\ntotal_rss_huge 0\ntotal_mapped_file 8192\ntotal_inactive_file " +
           std::to_string(inactive_file) + "\ntotal_pgfault 1200\ntotal_pgmajfault 12\n";
}

void write_v1_cgroup(const TempDir& dir, const std::string& cgroup, std::uint64_t cpu_ns,
                     std::uint64_t usage, std::uint64_t inactive_file,
                     const std::string& limit = kV1Unlimited) {
    dir.write("cpuacct" + cgroup + "/cpuacct.usage", std::to_string(cpu_ns) + "\n");
    dir.write("memory" + cgroup + "/memory.usage_in_bytes", std::to_string(usage) + "\n");
    dir.write("memory" + cgroup + "/memory.limit_in_bytes", limit);
    dir.write("memory" + cgroup + "/memory.stat", v1_memory_stat(inactive_file, usage / 2));
    dir.write("pids" + cgroup + "/pids.current", "3\n");
    dir.write("pids" + cgroup + "/cgroup.procs", "10\n11\n");
}

// --- file formats ---------------------------------------------------------

TEST(stats_CgroupFiles, ParsesUnsignedNumbersAndRejectsJunk) {
    EXPECT_EQ(parse_u64("123\n"), 123u);
    EXPECT_EQ(parse_u64("  42  "), 42u);
    EXPECT_EQ(parse_u64("18446744073709551615"), 18446744073709551615ull);
    EXPECT_FALSE(parse_u64(""));
    EXPECT_FALSE(parse_u64("\n"));
    EXPECT_FALSE(parse_u64("max\n"));
    EXPECT_FALSE(parse_u64("12abc"));
    EXPECT_FALSE(parse_u64("-1"));
    EXPECT_FALSE(parse_u64("18446744073709551616"));  // one past 2^64-1
}

TEST(stats_CgroupFiles, FindsKeysExactlyInFlatKeyedFiles) {
    const std::string stat = "rss_huge 5\nrss 10\ntotal_rss 20\nbroken x\n";
    EXPECT_EQ(keyed_value(stat, "rss"), 10u);  // not rss_huge's value
    EXPECT_EQ(keyed_value(stat, "total_rss"), 20u);
    EXPECT_FALSE(keyed_value(stat, "cache"));
    EXPECT_FALSE(keyed_value(stat, "broken"));
    EXPECT_FALSE(keyed_value("", "rss"));
    EXPECT_EQ(keyed_value("last 7", "last"), 7u);  // no trailing newline
}

TEST(stats_CgroupFiles, ReadsFilesAndMissingOnesAreEmpty) {
    TempDir dir;
    EXPECT_EQ(read_u64_file(dir.write("n", "77\n")), 77u);
    EXPECT_FALSE(read_u64_file(dir.write("max", "max\n")));
    EXPECT_FALSE(read_u64_file(dir / "missing"));
    EXPECT_FALSE(read_small_file(dir / "missing"));
    EXPECT_EQ(read_small_file(dir.write("big", std::string(10000, 'x')), 100)->size(), 100u);
}

TEST(stats_CgroupFiles, ParsesPressure) {
    const auto pressure = parse_pressure(
        "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=99\n");
    ASSERT_TRUE(pressure.some);
    EXPECT_DOUBLE_EQ(pressure.some->avg10, 1.5);
    EXPECT_DOUBLE_EQ(pressure.some->avg60, 0.25);
    EXPECT_EQ(pressure.some->total, 12345u);
    ASSERT_TRUE(pressure.full);
    EXPECT_EQ(pressure.full->total, 99u);

    const auto cpu_only = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n");
    EXPECT_TRUE(cpu_only.some);
    EXPECT_FALSE(cpu_only.full);
    EXPECT_FALSE(parse_pressure("some avg10=x avg60=0 avg300=0 total=1\n").some);
    EXPECT_FALSE(parse_pressure("some avg10=0.00\n").some);  // fields missing
    EXPECT_FALSE(parse_pressure("garbage").some);
}

// --- where the hierarchies are ------------------------------------------------

TEST(stats_CgroupLayoutTest, HybridHostWithCpuAndCpuacctApartIsReadAsV1) {
    const std::string mountinfo =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    const auto layout = parse_cgroup_layout(mountinfo);
    EXPECT_FALSE(layout.unified);
    EXPECT_EQ(layout.unified_root, "/sys/fs/cgroup/unified");
    EXPECT_EQ(layout.v1_dir("cpu", "/a/b"), "/sys/fs/cgroup/cpu/a/b");
    EXPECT_EQ(layout.v1_dir("cpuacct", "/a/b"), "/sys/fs/cgroup/cpuacct/a/b");
    EXPECT_EQ(layout.v1_dir("memory", "/a"), "/sys/fs/cgroup/memory/a");
    EXPECT_EQ(layout.v1_dir("pids", "/"), "/sys/fs/cgroup/pids");
    EXPECT_EQ(layout.v1_dir("blkio", "/a"), "");  // not mounted (and not wanted)
}

TEST(stats_CgroupLayoutTest, CombinedControllersAndEscapedMountPoints) {
    const auto layout = parse_cgroup_layout(
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /mnt/my\\040memory rw shared:5 - cgroup cgroup rw,memory\n");
    EXPECT_FALSE(layout.unified);
    EXPECT_EQ(layout.v1_roots.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(layout.v1_roots.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(layout.v1_roots.at("memory"), "/mnt/my memory");  // optional field skipped
}

TEST(stats_CgroupLayoutTest, PureV2HostIsUnified) {
    const auto layout = parse_cgroup_layout(
        "25 23 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    EXPECT_TRUE(layout.unified);
    EXPECT_EQ(layout.v2_dir("/kubepods/pod1"), "/sys/fs/cgroup/kubepods/pod1");
    EXPECT_FALSE(parse_cgroup_layout("").unified);
    EXPECT_FALSE(parse_cgroup_layout("garbage line\n\n- - -\n").unified);
}

TEST(stats_CgroupLayoutTest, ThisHostHasItsControllersSomewhere) {
    const auto& layout = host_cgroup_layout();
    if (layout.unified) {
        EXPECT_TRUE(fs::exists(layout.unified_root + "/cgroup.controllers"));
    } else {
        ASSERT_TRUE(layout.v1_roots.count("memory")) << "no memory controller mounted";
        EXPECT_TRUE(fs::exists(layout.v1_dir("memory", "/") + "/memory.usage_in_bytes"));
    }
}

// --- cgroup paths -----------------------------------------------------------

TEST(stats_CgroupPath, BothDriversForms) {
    EXPECT_EQ(cgroup_path_from_spec("/kubepods/pod1/berth-abc"), "/kubepods/pod1/berth-abc");
    EXPECT_EQ(cgroup_path_from_spec("kubepods-burstable-pod1.slice:berth:abc"),
              "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
              "berth-abc.scope");
    EXPECT_EQ(cgroup_path_from_spec("system.slice:berth:abc"), "/system.slice/berth-abc.scope");
    EXPECT_EQ(cgroup_path_from_spec(":berth:abc"), "/system.slice/berth-abc.scope");
    EXPECT_EQ(cgroup_path_from_spec("-.slice:berth:abc"), "/berth-abc.scope");
    EXPECT_EQ(cgroup_path_from_spec("a.slice::abc"), "/a.slice/-abc.scope");  // as runc names it
    EXPECT_EQ(cgroup_path_from_spec("a.slice:berth:a-b.slice"), "/a.slice/a-b.slice");

    for (const char* bad :
         {"", "relative/path", "/a/../b", "/a/..", "a.slice:berth", "a.slice:berth:x:y",
          "notaslice:berth:abc", "a.slice:berth:x/y", "a--b.slice:berth:abc", "a.slice:berth:"}) {
        EXPECT_FALSE(cgroup_path_from_spec(bad)) << bad;
    }
}

TEST(stats_CgroupPath, PodParents) {
    EXPECT_EQ(pod_cgroup_path("/kubepods/burstable/pod1"), "/kubepods/burstable/pod1");
    EXPECT_EQ(pod_cgroup_path("kubepods-besteffort-pod2.slice"),
              "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2.slice");
    EXPECT_FALSE(pod_cgroup_path(""));
    EXPECT_FALSE(pod_cgroup_path("/"));  // the whole node, not a pod
    EXPECT_FALSE(pod_cgroup_path("-.slice"));
    EXPECT_FALSE(pod_cgroup_path("/a/../.."));
    EXPECT_FALSE(pod_cgroup_path("nonsense"));
}

TEST(stats_CgroupPath, FromTheBundleSpec) {
    TempDir dir;
    dir.write("good/config.json", R"({"linux":{"cgroupsPath":"/berth/berth-1"}})");
    dir.write("systemd/config.json", R"({"linux":{"cgroupsPath":"x.slice:berth:1"}})");
    dir.write("nokey/config.json", R"({"linux":{}})");
    dir.write("wrongtype/config.json", R"({"linux":{"cgroupsPath":7}})");
    dir.write("notjson/config.json", "{not json");
    dir.write("array/config.json", "[1,2]");
    EXPECT_EQ(container_cgroup_path(dir / "good"), "/berth/berth-1");
    EXPECT_EQ(container_cgroup_path(dir / "systemd"), "/x.slice/berth-1.scope");
    for (const char* bad : {"nokey", "wrongtype", "notjson", "array", "missing"}) {
        EXPECT_FALSE(container_cgroup_path(dir / bad)) << bad;
    }
}

// --- cgroup v1 ----------------------------------------------------------------

TEST(stats_CgroupV1, ReadsCpuMemoryAndPidsFromSeparateHierarchies) {
    TempDir dir;
    const auto layout = fake_v1_layout(dir);
    write_v1_cgroup(dir, "/berth/c1", 5000000000, 30 * kMiB, 4 * kMiB);
    const auto sample = read_cgroup(layout, "/berth/c1");
    EXPECT_TRUE(sample.found);
    EXPECT_EQ(sample.cpu_usage_ns, 5000000000u);
    EXPECT_EQ(sample.memory_usage, 30 * kMiB);
    // usage - total_inactive_file (not the cgroup's own inactive_file).
    EXPECT_EQ(sample.memory_working_set, 26 * kMiB);
    EXPECT_EQ(sample.memory_rss, 15 * kMiB);  // total_rss
    EXPECT_EQ(sample.page_faults, 1200u);
    EXPECT_EQ(sample.major_page_faults, 12u);
    EXPECT_FALSE(sample.memory_limit) << "9223372036854771712 is no limit";
    EXPECT_EQ(sample.pids_current, 3u);
    EXPECT_FALSE(sample.process_count) << "only counted when asked";
    EXPECT_FALSE(sample.cpu_user_ns) << "details only when asked";
    EXPECT_FALSE(sample.swap_usage) << "no memsw files: swap is not accounted";
}

TEST(stats_CgroupV1, LimitSwapAndDetails) {
    TempDir dir;
    const auto layout = fake_v1_layout(dir);
    write_v1_cgroup(dir, "/c", 1000, 10 * kMiB, 0, std::to_string(64 * kMiB));
    dir.write("memory/c/memory.memsw.usage_in_bytes", std::to_string(12 * kMiB));
    dir.write("memory/c/memory.memsw.limit_in_bytes", std::to_string(96 * kMiB));
    dir.write("memory/c/memory.max_usage_in_bytes", "999\n");
    dir.write("memory/c/memory.failcnt", "4\n");
    dir.write("memory/c/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    dir.write("cpuacct/c/cpuacct.usage_user", "700\n");
    dir.write("cpuacct/c/cpuacct.usage_sys", "300\n");
    dir.write("cpu/c/cpu.stat", "nr_periods 50\nnr_throttled 5\nthrottled_time 123456\n");
    const auto sample = read_cgroup(layout, "/c", {.details = true, .processes = true});
    EXPECT_EQ(sample.memory_limit, 64 * kMiB);
    EXPECT_EQ(sample.swap_usage, 2 * kMiB);
    EXPECT_EQ(sample.swap_limit, 32 * kMiB);
    EXPECT_EQ(sample.memory_max_usage, 999u);
    EXPECT_EQ(sample.memory_failcnt, 4u);
    EXPECT_EQ(sample.oom_kills, 2u);
    EXPECT_EQ(sample.cpu_user_ns, 700u);
    EXPECT_EQ(sample.cpu_system_ns, 300u);
    EXPECT_EQ(sample.cpu_periods, 50u);
    EXPECT_EQ(sample.cpu_throttled_periods, 5u);
    EXPECT_EQ(sample.cpu_throttled_ns, 123456u);
    EXPECT_EQ(sample.memory_cache, 4096u);
    EXPECT_EQ(sample.memory_mapped_file, 8192u);
    EXPECT_EQ(sample.process_count, 2u);
}

TEST(stats_CgroupV1, OlderKernelsGiveUserAndSystemInClockTicks) {
    TempDir dir;
    const auto layout = fake_v1_layout(dir);
    write_v1_cgroup(dir, "/c", 1000, kMiB, 0);
    dir.write("cpuacct/c/cpuacct.stat", "user 150\nsystem 50\n");
    const auto sample = read_cgroup(layout, "/c", {.details = true});
    const std::uint64_t tick_ns = 1000000000ull / static_cast<std::uint64_t>(sysconf(_SC_CLK_TCK));
    EXPECT_EQ(sample.cpu_user_ns, 150 * tick_ns);
    EXPECT_EQ(sample.cpu_system_ns, 50 * tick_ns);
}

TEST(stats_CgroupV1, MissingCgroupIsNotFound) {
    TempDir dir;
    const auto sample = read_cgroup(fake_v1_layout(dir), "/gone", {.details = true});
    EXPECT_FALSE(sample.found);
    EXPECT_FALSE(sample.cpu_usage_ns);
    EXPECT_FALSE(sample.memory_usage);
    EXPECT_FALSE(sample.memory_working_set);
    // No controllers mounted at all.
    EXPECT_FALSE(read_cgroup(CgroupLayout{}, "/c", {.processes = true}).found);
}

TEST(stats_CgroupV1, MalformedFilesLeaveValuesOutWithoutThrowing) {
    TempDir dir;
    const auto layout = fake_v1_layout(dir);
    dir.write("cpuacct/c/cpuacct.usage", "lots\n");
    dir.write("memory/c/memory.usage_in_bytes", "");
    dir.write("memory/c/memory.limit_in_bytes", "-1\n");
    dir.write("memory/c/memory.stat", "total_rss x\ntotal_pgfault\n\n\n total_inactive_file 5\n");
    dir.write("pids/c/pids.current", "max\n");
    CgroupSample sample;
    ASSERT_NO_THROW(sample = read_cgroup(layout, "/c", {.details = true, .processes = true}));
    EXPECT_FALSE(sample.cpu_usage_ns);
    EXPECT_FALSE(sample.memory_usage);
    EXPECT_FALSE(sample.memory_working_set);
    EXPECT_FALSE(sample.memory_limit);
    EXPECT_FALSE(sample.memory_rss);
    EXPECT_FALSE(sample.page_faults);
    EXPECT_FALSE(sample.pids_current);
    EXPECT_TRUE(sample.found) << "memory.stat could be read";
}

TEST(stats_WorkingSet, UsageMinusInactiveFileNeverBelowZero) {
    EXPECT_EQ(working_set(100, 30), 70u);
    EXPECT_EQ(working_set(100, std::nullopt), 100u);
    EXPECT_EQ(working_set(100, 100), 0u);
    EXPECT_EQ(working_set(10, 300), 0u);  // the counters are not read atomically
}

// --- cgroup v2 ----------------------------------------------------------------

TEST(stats_CgroupV2, ReadsOneDirectory) {
    TempDir dir;
    const auto layout = fake_v2_layout(dir);
    const std::string cg = "unified/kubepods/pod1/berth-c";
    dir.write(cg + "/cpu.stat",
              "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
              "nr_periods 10\nnr_throttled 2\nthrottled_usec 3000\n");
    dir.write(cg + "/memory.current", std::to_string(50 * kMiB) + "\n");
    dir.write(cg + "/memory.max", "max\n");
    dir.write(cg + "/memory.stat", "anon " + std::to_string(20 * kMiB) + "\nfile " +
                                       std::to_string(30 * kMiB) +
                                       "\nfile_mapped 4096\nactive_file 1\ninactive_file " +
                                       std::to_string(10 * kMiB) + "\npgfault 500\npgmajfault 5\n");
    dir.write(cg + "/memory.swap.current", std::to_string(kMiB) + "\n");
    dir.write(cg + "/memory.swap.max", std::to_string(5 * kMiB) + "\n");
    dir.write(cg + "/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n");
    dir.write(cg + "/pids.current", "4\n");
    dir.write(cg + "/cgroup.procs", "100\n101\n");
    dir.write(cg + "/cpu.pressure",
              "some avg10=2.00 avg60=1.00 avg300=0.50 total=777\n"
              "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    dir.write(cg + "/memory.pressure",
              "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n"
              "full avg10=0.00 avg60=0.00 avg300=0.00 total=2\n");

    const auto sample =
        read_cgroup(layout, "/kubepods/pod1/berth-c", {.details = true, .processes = true});
    EXPECT_TRUE(sample.found);
    EXPECT_EQ(sample.cpu_usage_ns, 2500000000u);
    EXPECT_EQ(sample.cpu_user_ns, 2000000000u);
    EXPECT_EQ(sample.cpu_system_ns, 500000000u);
    EXPECT_EQ(sample.cpu_throttled_ns, 3000000u);
    EXPECT_EQ(sample.memory_usage, 50 * kMiB);
    EXPECT_EQ(sample.memory_working_set, 40 * kMiB);  // minus inactive_file
    EXPECT_EQ(sample.memory_rss, 20 * kMiB);          // anon
    EXPECT_EQ(sample.memory_cache, 30 * kMiB);
    EXPECT_FALSE(sample.memory_limit) << "\"max\" is no limit";
    EXPECT_EQ(sample.page_faults, 500u);
    EXPECT_EQ(sample.major_page_faults, 5u);
    EXPECT_EQ(sample.swap_usage, kMiB);
    EXPECT_EQ(sample.swap_limit, 5 * kMiB);
    EXPECT_EQ(sample.oom_kills, 1u);
    EXPECT_EQ(sample.memory_failcnt, 7u);
    EXPECT_EQ(sample.pids_current, 4u);
    EXPECT_EQ(sample.process_count, 2u);
    ASSERT_TRUE(sample.cpu_pressure.some);
    EXPECT_EQ(sample.cpu_pressure.some->total, 777u);
    ASSERT_TRUE(sample.memory_pressure.full);
    EXPECT_FALSE(sample.io_pressure.some) << "io.pressure is missing";
}

TEST(stats_CgroupV2, LimitedMemoryAndMissingPieces) {
    TempDir dir;
    const auto layout = fake_v2_layout(dir);
    dir.write("unified/c/memory.current", "1000\n");
    dir.write("unified/c/memory.max", "4096\n");
    const auto sample = read_cgroup(layout, "/c");
    EXPECT_TRUE(sample.found);
    EXPECT_EQ(sample.memory_limit, 4096u);
    EXPECT_EQ(sample.memory_working_set, 1000u) << "no memory.stat: nothing to subtract";
    EXPECT_FALSE(sample.cpu_usage_ns);
    EXPECT_FALSE(sample.memory_rss);
    EXPECT_FALSE(sample.swap_usage);
    EXPECT_FALSE(read_cgroup(layout, "/gone").found);
    CgroupLayout no_root;
    no_root.unified = true;
    EXPECT_FALSE(read_cgroup(no_root, "/c").found);
}

TEST(stats_CgroupV2, ProcessesAreCountedThroughTheSubtree) {
    TempDir dir;
    dir.write("unified/pod/cgroup.procs", "");
    dir.write("unified/pod/a/cgroup.procs", "1\n2\n3\n");
    dir.write("unified/pod/b/cgroup.procs", "4\n");
    dir.write("unified/pod/b/deeper/cgroup.procs", "5\n6\n");
    EXPECT_EQ(count_processes(dir / "unified/pod"), 6u);
    EXPECT_FALSE(count_processes(dir / "unified/none"));
}

TEST(stats_CgroupSampleSum, AddsWhatWasReadAndLeavesLimitsAlone) {
    CgroupSample total;
    CgroupSample first;
    first.found = true;
    first.cpu_usage_ns = 10;
    first.memory_working_set = 100;
    first.memory_limit = 1000;
    first.process_count = 2;
    CgroupSample second;
    second.found = true;
    second.cpu_usage_ns = 5;
    second.memory_working_set = 50;
    second.memory_rss = 7;
    CgroupSample gone;  // not found: ignored
    gone.cpu_usage_ns = 1000000;
    add_sample(total, first);
    add_sample(total, second);
    add_sample(total, gone);
    EXPECT_TRUE(total.found);
    EXPECT_EQ(total.cpu_usage_ns, 15u);
    EXPECT_EQ(total.memory_working_set, 150u);
    EXPECT_EQ(total.memory_rss, 7u);
    EXPECT_EQ(total.process_count, 2u);
    EXPECT_FALSE(total.memory_limit);
    EXPECT_FALSE(total.memory_usage);
}

// --- usage_nano_cores -----------------------------------------------------------

TEST(stats_CpuRate, NanoCoresFromTwoSamples) {
    CpuRateCache cache;
    const auto start = CpuRateCache::Clock::time_point{} + 100s;
    EXPECT_FALSE(cache.update("c", start, 1000000000)) << "the first sample has no rate";
    // 1.5 s of CPU in 2 s: 0.75 of a core.
    EXPECT_EQ(cache.update("c", start + 2s, 2500000000), 750000000u);
    // Too soon after: the same rate again, and the 2 s sample stays the base.
    EXPECT_EQ(cache.update("c", start + 2s + 10ms, 2600000000), 750000000u);
    EXPECT_EQ(cache.update("c", start + 4s, 4500000000), 1000000000u);
    // A counter that went back (a cgroup made anew) starts over.
    EXPECT_FALSE(cache.update("c", start + 6s, 10));
    EXPECT_EQ(cache.update("c", start + 7s, 10 + 250000000), 250000000u);
    // Ids are independent.
    EXPECT_FALSE(cache.update("other", start + 7s, 1));
}

TEST(stats_CpuRate, DepartedIdsAreForgotten) {
    CpuRateCache cache;
    const auto now = CpuRateCache::Clock::now();
    cache.update("a", now, 1);
    cache.update("b", now, 1);
    cache.update("c", now, 1);
    cache.retain({"b"});
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_FALSE(cache.update("a", now + 5s, 2)) << "a was forgotten: a first sample again";
}

TEST(stats_CpuRate, NoOverflowOrDivisionByZero) {
    EXPECT_EQ(nano_cores(0, 0, 0ns), 0u);
    EXPECT_EQ(nano_cores(10, 5, 1s), 0u);
    // 2^62 ns of CPU in 2^62 ns: one core, although 2^62 * 1e9 overflows.
    const std::uint64_t big = std::uint64_t{1} << 62;
    EXPECT_NEAR(static_cast<double>(nano_cores(0, big, std::chrono::nanoseconds(big))), 1e9, 1.0);
}

// --- disk usage ------------------------------------------------------------------

TEST(stats_DiskUsageTest, CountsBlocksAndInodesWithHardLinksOnce) {
    TempDir dir;
    dir.write("upper/etc/file", std::string(5 * kMiB, 'x'));
    dir.write("upper/small", "hi");
    fs::create_directories(dir / "upper/empty/deeper");
    fs::create_symlink("etc/file", dir / "upper/link");
    fs::create_hard_link(dir / "upper/etc/file", dir / "upper/hard");
    const auto usage = directory_usage(dir / "upper");
    ASSERT_TRUE(usage);
    // upper, etc, etc/file, small, empty, empty/deeper, link; hard = file.
    EXPECT_EQ(usage->inodes, 7u);
    EXPECT_GE(usage->bytes, 5 * kMiB);
    EXPECT_LT(usage->bytes, 6 * kMiB) << "the hard link was counted twice";
    EXPECT_FALSE(directory_usage(dir / "missing"));
    EXPECT_FALSE(directory_usage(dir / "upper/small")) << "not a directory";
}

// --- network ------------------------------------------------------------------

TEST(stats_NetDev, ParsesProcNetDev) {
    const auto interfaces = parse_net_dev(
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
        "errs drop fifo colls carrier compressed\n"
        "    lo:     100       2    0    0    0     0          0         0      100       2    "
        "0    0    0     0       0          0\n"
        "  eth0: 123456     789    1    2    0     0          0         0    65432     321    "
        "3    4    0     0       0          0\n"
        "  bad: 1 2 3\n");
    ASSERT_EQ(interfaces.size(), 2u);
    EXPECT_EQ(interfaces[0].name, "lo");
    const auto& eth0 = interfaces[1];
    EXPECT_EQ(eth0.name, "eth0");
    EXPECT_EQ(eth0.rx_bytes, 123456u);
    EXPECT_EQ(eth0.rx_packets, 789u);
    EXPECT_EQ(eth0.rx_errors, 1u);
    EXPECT_EQ(eth0.rx_dropped, 2u);
    EXPECT_EQ(eth0.tx_bytes, 65432u);
    EXPECT_EQ(eth0.tx_packets, 321u);
    EXPECT_EQ(eth0.tx_errors, 3u);
    EXPECT_EQ(eth0.tx_dropped, 4u);
    EXPECT_TRUE(parse_net_dev("").empty());
}

TEST(stats_NetDev, ReadsInsideANamespaceOrSaysWhyNot) {
    EXPECT_THROW(read_netns_interfaces("/nonexistent/netns"), std::system_error);
    if (geteuid() != 0) {
        GTEST_SKIP() << "SKIPPED: joining a network namespace needs root";
    }
    // The daemon's own namespace stands in for a pod's: it has lo.
    const auto interfaces = read_netns_interfaces("/proc/self/ns/net");
    bool has_lo = false;
    for (const auto& counters : interfaces) {
        has_lo = has_lo || counters.name == "lo";
    }
    EXPECT_TRUE(has_lo);
}

TEST(stats_NetDev, DefaultInterfaceIsEth0ElseTheFirst) {
    std::vector<InterfaceCounters> interfaces(2);
    interfaces[0].name = "net1";
    interfaces[1].name = "eth0";
    EXPECT_EQ(default_interface(interfaces)->name, "eth0");
    interfaces[1].name = "net2";
    EXPECT_EQ(default_interface(interfaces)->name, "net1");
    EXPECT_EQ(default_interface({}), nullptr);
}

// --- the collector, CRI conversion and metrics ---------------------------------------

class CollectorTest : public testing::Test {
protected:
    CollectorTest()
        : containers_(dir_ / "state/containers"),
          sandboxes_(dir_ / "state/sandboxes"),
          images_(config(), ""),
          collector_(containers_, sandboxes_, images_, fake_v1_layout(dir_)) {}

    const berth::config::Config& config() {
        config_.root = dir_ / "root";
        config_.runroot = dir_ / "run";
        return config_;
    }

    sandbox::Sandbox& add_pod(const std::string& id, const std::string& parent = "") {
        sandbox::Sandbox record;
        record.id = id;
        record.config.mutable_metadata()->set_name("web");
        record.config.mutable_metadata()->set_namespace_("shop");
        (*record.config.mutable_labels())["app"] = "web";
        record.name = sandbox::sandbox_name(record.config.metadata());
        record.state = sandbox::SandboxState::Ready;
        record.cgroup_parent = parent;
        sandboxes_.put(record);
        pods_[id] = record;
        return pods_[id];
    }

    std::shared_ptr<const container::Container> add_container(const std::string& id,
                                                              const std::string& pod,
                                                              const std::string& cgroup) {
        container::Container record;
        record.id = id;
        record.sandbox_id = pod;
        record.name = "k8s_app_web_shop_uid_0";
        record.config.mutable_metadata()->set_name("app");
        record.config.mutable_image()->set_image("registry.example/app:1");
        (*record.config.mutable_labels())["tier"] = "front";
        record.state = container::ContainerState::Running;
        record.started_at = 1700000000000000000;
        dir_.write("bundles/" + id + "/config.json",
                   R"({"linux":{"cgroupsPath":")" + cgroup + R"("}})");
        record.bundle = dir_ / ("bundles/" + id);
        containers_.put(record);
        return containers_.get(id);
    }

    TempDir dir_;
    berth::config::Config config_;
    container::ContainerStore containers_;
    sandbox::SandboxStore sandboxes_;
    berth::storage::ImageStorage images_;
    StatsCollector collector_;
    std::map<std::string, sandbox::Sandbox> pods_;
};

// Named for ctest's -R stats, as every suite here.
using stats_Collector = CollectorTest;

const std::string kPod(64, 'a');
const std::string kFirst = std::string(63, 'b') + "1";
const std::string kSecond = std::string(63, 'b') + "2";

TEST_F(stats_Collector, ContainerStatsInCriTerms) {
    add_pod(kPod);
    const auto record = add_container(kFirst, kPod, "/berth/berth-" + kFirst);
    write_v1_cgroup(dir_, "/berth/berth-" + kFirst, 3000000000, 40 * kMiB, 10 * kMiB,
                    std::to_string(100 * kMiB));
    const auto stats = to_cri_stats(*record, collector_.sample_container(*record));
    EXPECT_EQ(stats.attributes().id(), kFirst);
    EXPECT_EQ(stats.attributes().metadata().name(), "app");
    EXPECT_EQ(stats.attributes().labels().at("tier"), "front");
    ASSERT_TRUE(stats.has_cpu());
    EXPECT_GT(stats.cpu().timestamp(), 0);
    EXPECT_EQ(stats.cpu().usage_core_nano_seconds().value(), 3000000000u);
    EXPECT_FALSE(stats.cpu().has_usage_nano_cores()) << "one sample gives no rate";
    ASSERT_TRUE(stats.has_memory());
    EXPECT_EQ(stats.memory().usage_bytes().value(), 40 * kMiB);
    EXPECT_EQ(stats.memory().working_set_bytes().value(), 30 * kMiB);
    EXPECT_EQ(stats.memory().available_bytes().value(), 70 * kMiB);
    EXPECT_EQ(stats.memory().rss_bytes().value(), 20 * kMiB);
    EXPECT_EQ(stats.memory().page_faults().value(), 1200u);
    EXPECT_EQ(stats.memory().major_page_faults().value(), 12u);
    EXPECT_FALSE(stats.has_swap());
    EXPECT_FALSE(stats.has_writable_layer()) << "no root filesystem in the store";
}

TEST_F(stats_Collector, AContainerWithoutCgroupGetsAttributesOnly) {
    add_pod(kPod);
    const auto record = add_container(kFirst, kPod, "/berth/berth-gone");
    const auto stats = to_cri_stats(*record, collector_.sample_container(*record));
    EXPECT_EQ(stats.attributes().id(), kFirst);
    EXPECT_FALSE(stats.has_cpu());
    EXPECT_FALSE(stats.has_memory());
    // Unlimited memory: no available_bytes.
    write_v1_cgroup(dir_, "/berth/berth-gone", 1, kMiB, 0);
    const auto later = to_cri_stats(*record, collector_.sample_container(*record));
    EXPECT_TRUE(later.memory().has_working_set_bytes());
    EXPECT_FALSE(later.memory().has_available_bytes());
}

TEST_F(stats_Collector, PodWithoutParentIsTheSumOfItsContainers) {
    add_pod(kPod);
    add_container(kFirst, kPod, "/berth/berth-1");
    add_container(kSecond, kPod, "/berth/berth-2");
    write_v1_cgroup(dir_, "/berth/berth-1", 1000, 10 * kMiB, kMiB);
    write_v1_cgroup(dir_, "/berth/berth-2", 2000, 20 * kMiB, kMiB);
    const auto stats = to_cri_stats(pods_[kPod], collector_.sample_pod(pods_[kPod]));
    EXPECT_EQ(stats.attributes().id(), kPod);
    EXPECT_EQ(stats.attributes().metadata().name(), "web");
    EXPECT_EQ(stats.linux().cpu().usage_core_nano_seconds().value(), 3000u);
    EXPECT_EQ(stats.linux().memory().working_set_bytes().value(), 28 * kMiB);
    EXPECT_EQ(stats.linux().process().process_count().value(), 4u);
    EXPECT_EQ(stats.linux().containers_size(), 2);
    EXPECT_FALSE(stats.linux().has_network()) << "a pod on the host's network";
}

TEST_F(stats_Collector, PodWithParentReadsItsCgroup) {
    add_pod(kPod, "/kubepods/pod1");
    add_container(kFirst, kPod, "/kubepods/pod1/berth-1");
    write_v1_cgroup(dir_, "/kubepods/pod1/berth-1", 1000, 10 * kMiB, 0);
    write_v1_cgroup(dir_, "/kubepods/pod1", 9000, 50 * kMiB, 0);
    dir_.write("pids/kubepods/pod1/berth-1/cgroup.procs", "1\n2\n3\n");
    const auto stats = to_cri_stats(pods_[kPod], collector_.sample_pod(pods_[kPod]));
    EXPECT_EQ(stats.linux().cpu().usage_core_nano_seconds().value(), 9000u);
    EXPECT_EQ(stats.linux().memory().usage_bytes().value(), 50 * kMiB);
    // Processes of the pod's cgroup and those below it.
    EXPECT_EQ(stats.linux().process().process_count().value(), 5u);
    ASSERT_EQ(stats.linux().containers_size(), 1);
    EXPECT_EQ(stats.linux().containers(0).cpu().usage_core_nano_seconds().value(), 1000u);
}

TEST_F(stats_Collector, PodWhoseNetnsIsGoneHasNoNetworkButStillAnswers) {
    auto& pod = add_pod(kPod);
    pod.netns_path = dir_ / "no-such-netns";
    PodSample sample;
    ASSERT_NO_THROW(sample = collector_.sample_pod(pod));
    EXPECT_FALSE(sample.interfaces);
    EXPECT_FALSE(to_cri_stats(pod, sample).linux().has_network());
}

TEST_F(stats_Collector, ForgetsDepartedContainers) {
    add_pod(kPod);
    const auto record = add_container(kFirst, kPod, "/berth/berth-1");
    write_v1_cgroup(dir_, "/berth/berth-1", 1000, kMiB, 0);
    collector_.sample_container(*record);
    // The spec is remembered: the cgroup is still found without it.
    fs::remove(dir_ / ("bundles/" + kFirst + "/config.json"));
    EXPECT_TRUE(collector_.sample_container(*record).cgroup.found);
    containers_.erase(kFirst);
    collector_.forget_departed();
    EXPECT_FALSE(collector_.sample_container(*record).cgroup.found)
        << "the remembered cgroup path was dropped with the container";
}

TEST_F(stats_Collector, MetricsMatchTheirDescriptors) {
    auto& pod = add_pod(kPod);
    add_container(kFirst, kPod, "/berth/berth-1");
    write_v1_cgroup(dir_, "/berth/berth-1", 7000000000, 30 * kMiB, 5 * kMiB,
                    std::to_string(64 * kMiB));
    dir_.write("memory/berth/berth-1/memory.oom_control", "oom_kill 1\n");
    PodSample sample = collector_.sample_pod(pod, {.details = true});
    sample.interfaces = std::vector<InterfaceCounters>{{"eth0", 10, 1, 0, 0, 20, 2, 0, 0}};
    const auto metrics = to_cri_metrics(pod, sample);
    EXPECT_EQ(metrics.pod_sandbox_id(), kPod);
    ASSERT_EQ(metrics.container_metrics_size(), 1);
    EXPECT_EQ(metrics.container_metrics(0).container_id(), kFirst);

    std::map<std::string, v1::MetricDescriptor> descriptors;
    for (const auto& descriptor : metric_descriptors()) {
        descriptors[descriptor.name()] = descriptor;
    }
    std::map<std::string, const v1::Metric*> container_values;
    auto check = [&](const v1::Metric& metric) {
        ASSERT_TRUE(descriptors.count(metric.name())) << metric.name();
        EXPECT_EQ(metric.label_values_size(), descriptors[metric.name()].label_keys_size())
            << metric.name();
        EXPECT_GT(metric.timestamp(), 0);
    };
    for (const auto& metric : metrics.metrics()) {
        check(metric);
        EXPECT_EQ(metric.label_values(0), "") << "pod-level metrics have no container";
        EXPECT_EQ(metric.label_values(1), kPod);
        EXPECT_EQ(metric.label_values(4), "shop");
        EXPECT_EQ(metric.label_values(5), "web");
    }
    for (const auto& metric : metrics.container_metrics(0).metrics()) {
        check(metric);
        EXPECT_EQ(metric.label_values(0), "app");
        EXPECT_EQ(metric.label_values(1), kFirst);
        EXPECT_EQ(metric.label_values(2), "registry.example/app:1");
        container_values[metric.name()] = &metric;
    }
    ASSERT_TRUE(container_values.count("container_cpu_usage_seconds_total"));
    const auto& cpu = *container_values["container_cpu_usage_seconds_total"];
    EXPECT_EQ(cpu.value().value(), 7u);
    EXPECT_EQ(cpu.metric_type(), v1::COUNTER);
    EXPECT_EQ(cpu.label_values(6), "total");
    ASSERT_TRUE(container_values.count("container_memory_working_set_bytes"));
    EXPECT_EQ(container_values["container_memory_working_set_bytes"]->value().value(), 25 * kMiB);
    EXPECT_EQ(container_values["container_memory_working_set_bytes"]->metric_type(), v1::GAUGE);
    EXPECT_EQ(container_values["container_spec_memory_limit_bytes"]->value().value(), 64 * kMiB);
    EXPECT_EQ(container_values["container_oom_events_total"]->value().value(), 1u);
    EXPECT_EQ(container_values["container_start_time_seconds"]->value().value(), 1700000000u);

    bool saw_rx = false;
    for (const auto& metric : metrics.metrics()) {
        if (metric.name() == "container_network_receive_bytes_total") {
            saw_rx = true;
            EXPECT_EQ(metric.value().value(), 10u);
            EXPECT_EQ(metric.label_values(6), "eth0");
            EXPECT_EQ(metric.metric_type(), v1::COUNTER);
        }
    }
    EXPECT_TRUE(saw_rx);
}

TEST(stats_MetricDescriptors, CadvisorNamesWithBaseLabels) {
    std::set<std::string> names;
    for (const auto& descriptor : metric_descriptors()) {
        EXPECT_TRUE(names.insert(descriptor.name()).second) << "twice: " << descriptor.name();
        EXPECT_FALSE(descriptor.help().empty()) << descriptor.name();
        ASSERT_GE(descriptor.label_keys_size(), 6) << descriptor.name();
        EXPECT_EQ(descriptor.label_keys(1), "id");
        EXPECT_EQ(descriptor.label_keys(5), "pod");
    }
    for (const char* known :
         {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
          "container_memory_usage_bytes", "container_memory_rss",
          "container_network_receive_bytes_total", "container_network_transmit_bytes_total"}) {
        EXPECT_TRUE(names.count(known)) << known;
    }
    EXPECT_EQ(find_metric_spec("container_memory_rss")->type, v1::GAUGE);
    EXPECT_EQ(find_metric_spec("container_network_transmit_bytes_total")->type, v1::COUNTER);
    EXPECT_EQ(find_metric_spec("nope"), nullptr);
}

TEST(stats_StatsFilters, IdPrefixPodAndLabels) {
    container::Container record;
    record.id = "abcdef";
    record.sandbox_id = "123456";
    (*record.config.mutable_labels())["app"] = "web";
    v1::ContainerStatsFilter filter;
    EXPECT_TRUE(server::matches(record, filter));
    filter.set_id("abc");
    EXPECT_TRUE(server::matches(record, filter));
    filter.set_pod_sandbox_id("123");
    EXPECT_TRUE(server::matches(record, filter));
    (*filter.mutable_label_selector())["app"] = "web";
    EXPECT_TRUE(server::matches(record, filter));
    (*filter.mutable_label_selector())["app"] = "db";
    EXPECT_FALSE(server::matches(record, filter));
    filter.clear_label_selector();
    filter.set_pod_sandbox_id("999");
    EXPECT_FALSE(server::matches(record, filter));
    filter.set_pod_sandbox_id("");
    filter.set_id("abd");
    EXPECT_FALSE(server::matches(record, filter));

    sandbox::Sandbox pod;
    pod.id = "feed";
    (*pod.config.mutable_labels())["team"] = "a";
    v1::PodSandboxStatsFilter pod_filter;
    pod_filter.set_id("fe");
    EXPECT_TRUE(server::matches(pod, pod_filter));
    (*pod_filter.mutable_label_selector())["team"] = "b";
    EXPECT_FALSE(server::matches(pod, pod_filter));
}

}  // namespace
