// cgroup v1: each controller in its own hierarchy (cpuacct, cpu, memory,
// pids may be mounted apart or together; CgroupLayout knows where).
#include <unistd.h>

#include "stats/cgroup_sample.hpp"

namespace berth::daemon::stats {

namespace {

// v1 reports "no limit" as PAGE_COUNTER_MAX in bytes (0x7FFFFFFFFFFFF000 on
// x86_64); anything this large is no limit at all.
constexpr std::uint64_t kUnlimitedAbove = std::uint64_t{1} << 62;

std::optional<std::uint64_t> limit_value(std::optional<std::uint64_t> raw) {
    if (raw && *raw >= kUnlimitedAbove) {
        return std::nullopt;
    }
    return raw;
}

// memory.stat has the cgroup's own counters ("rss") and, with hierarchy
// accounting, the subtree's ("total_rss"); the subtree's are what a pod or
// a container with children uses.
std::optional<std::uint64_t> hierarchical(const std::string& stat, const std::string& key) {
    if (auto total = keyed_value(stat, "total_" + key)) {
        return total;
    }
    return keyed_value(stat, key);
}

std::uint64_t ticks_to_ns(std::uint64_t ticks) {
    static const long per_second = ::sysconf(_SC_CLK_TCK);
    return per_second > 0 ? ticks * (1000000000ULL / static_cast<std::uint64_t>(per_second)) : 0;
}

void read_cpu(const CgroupLayout& layout, const std::string& cgroup, ReadOptions options,
              CgroupSample& sample) {
    const std::string cpuacct = layout.v1_dir("cpuacct", cgroup);
    if (!cpuacct.empty()) {
        sample.cpu_usage_ns = read_u64_file(cpuacct + "/cpuacct.usage");
        if (options.details) {
            sample.cpu_user_ns = read_u64_file(cpuacct + "/cpuacct.usage_user");
            sample.cpu_system_ns = read_u64_file(cpuacct + "/cpuacct.usage_sys");
            if (!sample.cpu_user_ns || !sample.cpu_system_ns) {
                // Older kernels: only clock ticks in cpuacct.stat.
                if (const auto stat = read_small_file(cpuacct + "/cpuacct.stat")) {
                    if (const auto user = keyed_value(*stat, "user")) {
                        sample.cpu_user_ns = ticks_to_ns(*user);
                    }
                    if (const auto system = keyed_value(*stat, "system")) {
                        sample.cpu_system_ns = ticks_to_ns(*system);
                    }
                }
            }
        }
    }
    const std::string cpu = layout.v1_dir("cpu", cgroup);
    if (options.details && !cpu.empty()) {
        if (const auto stat = read_small_file(cpu + "/cpu.stat")) {
            sample.cpu_periods = keyed_value(*stat, "nr_periods");
            sample.cpu_throttled_periods = keyed_value(*stat, "nr_throttled");
            sample.cpu_throttled_ns = keyed_value(*stat, "throttled_time");
            sample.found = true;
        }
    }
    if (sample.cpu_usage_ns) {
        sample.found = true;
    }
}

void read_memory(const CgroupLayout& layout, const std::string& cgroup, ReadOptions options,
                 CgroupSample& sample) {
    const std::string memory = layout.v1_dir("memory", cgroup);
    if (memory.empty()) {
        return;
    }
    sample.memory_usage = read_u64_file(memory + "/memory.usage_in_bytes");
    sample.memory_limit = limit_value(read_u64_file(memory + "/memory.limit_in_bytes"));
    const auto stat = read_small_file(memory + "/memory.stat");
    if (sample.memory_usage) {
        sample.found = true;
        sample.memory_working_set = working_set(
            *sample.memory_usage, stat ? hierarchical(*stat, "inactive_file") : std::nullopt);
    }
    if (stat) {
        sample.found = true;
        sample.memory_rss = hierarchical(*stat, "rss");
        sample.page_faults = hierarchical(*stat, "pgfault");
        sample.major_page_faults = hierarchical(*stat, "pgmajfault");
        if (options.details) {
            sample.memory_cache = hierarchical(*stat, "cache");
            sample.memory_mapped_file = hierarchical(*stat, "mapped_file");
        }
    }
    // Swap is only accounted with swapaccount=1 (the memsw files exist).
    const auto memsw_usage = read_u64_file(memory + "/memory.memsw.usage_in_bytes");
    if (memsw_usage && sample.memory_usage) {
        sample.swap_usage = *memsw_usage > *sample.memory_usage
                                ? *memsw_usage - *sample.memory_usage
                                : std::uint64_t{0};
        const auto memsw_limit =
            limit_value(read_u64_file(memory + "/memory.memsw.limit_in_bytes"));
        if (memsw_limit && sample.memory_limit && *memsw_limit >= *sample.memory_limit) {
            sample.swap_limit = *memsw_limit - *sample.memory_limit;
        }
    }
    if (options.details) {
        sample.memory_max_usage = read_u64_file(memory + "/memory.max_usage_in_bytes");
        sample.memory_failcnt = read_u64_file(memory + "/memory.failcnt");
        if (const auto oom = read_small_file(memory + "/memory.oom_control")) {
            sample.oom_kills = keyed_value(*oom, "oom_kill");
        }
    }
}

}  // namespace

CgroupSample read_cgroup_v1(const CgroupLayout& layout, const std::string& cgroup,
                            ReadOptions options) {
    CgroupSample sample;
    read_cpu(layout, cgroup, options, sample);
    read_memory(layout, cgroup, options, sample);
    const std::string pids = layout.v1_dir("pids", cgroup);
    if (!pids.empty()) {
        sample.pids_current = read_u64_file(pids + "/pids.current");
        if (sample.pids_current) {
            sample.found = true;
        }
    }
    if (options.processes) {
        // Any hierarchy lists the same processes; pids is the usual one.
        std::string procs_dir = pids;
        for (const char* controller : {"memory", "cpuacct", "cpu"}) {
            if (procs_dir.empty()) {
                procs_dir = layout.v1_dir(controller, cgroup);
            }
        }
        if (!procs_dir.empty()) {
            sample.process_count = count_processes(procs_dir);
        }
    }
    return sample;
}

}  // namespace berth::daemon::stats
