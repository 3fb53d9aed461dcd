// cgroup v2: one directory per cgroup holds every controller's files.
#include "stats/cgroup_sample.hpp"

namespace berth::daemon::stats {

namespace {

std::optional<std::uint64_t> microseconds_to_ns(std::optional<std::uint64_t> value) {
    if (value) {
        return *value * 1000;
    }
    return std::nullopt;
}

void read_cpu(const std::string& dir, ReadOptions options, CgroupSample& sample) {
    const auto stat = read_small_file(dir + "/cpu.stat");
    if (!stat) {
        return;
    }
    sample.found = true;
    sample.cpu_usage_ns = microseconds_to_ns(keyed_value(*stat, "usage_usec"));
    if (options.details) {
        sample.cpu_user_ns = microseconds_to_ns(keyed_value(*stat, "user_usec"));
        sample.cpu_system_ns = microseconds_to_ns(keyed_value(*stat, "system_usec"));
        sample.cpu_periods = keyed_value(*stat, "nr_periods");
        sample.cpu_throttled_periods = keyed_value(*stat, "nr_throttled");
        sample.cpu_throttled_ns = microseconds_to_ns(keyed_value(*stat, "throttled_usec"));
    }
}

void read_memory(const std::string& dir, ReadOptions options, CgroupSample& sample) {
    // memory.max and memory.swap.max say "max" for no limit, which
    // read_u64_file turns into nothing: exactly "unlimited".
    sample.memory_usage = read_u64_file(dir + "/memory.current");
    sample.memory_limit = read_u64_file(dir + "/memory.max");
    const auto stat = read_small_file(dir + "/memory.stat");
    if (sample.memory_usage) {
        sample.found = true;
        sample.memory_working_set = working_set(
            *sample.memory_usage, stat ? keyed_value(*stat, "inactive_file") : std::nullopt);
    }
    if (stat) {
        sample.found = true;
        sample.memory_rss = keyed_value(*stat, "anon");
        sample.page_faults = keyed_value(*stat, "pgfault");
        sample.major_page_faults = keyed_value(*stat, "pgmajfault");
        if (options.details) {
            sample.memory_cache = keyed_value(*stat, "file");
            sample.memory_mapped_file = keyed_value(*stat, "file_mapped");
        }
    }
    sample.swap_usage = read_u64_file(dir + "/memory.swap.current");
    if (sample.swap_usage) {
        sample.swap_limit = read_u64_file(dir + "/memory.swap.max");
    }
    if (options.details) {
        sample.memory_max_usage = read_u64_file(dir + "/memory.peak");  // kernel 5.19+
        if (const auto events = read_small_file(dir + "/memory.events")) {
            sample.oom_kills = keyed_value(*events, "oom_kill");
            sample.memory_failcnt = keyed_value(*events, "max");
        }
    }
}

void read_pressure(const std::string& dir, CgroupSample& sample) {
    if (const auto cpu = read_small_file(dir + "/cpu.pressure")) {
        sample.cpu_pressure = parse_pressure(*cpu);
    }
    if (const auto memory = read_small_file(dir + "/memory.pressure")) {
        sample.memory_pressure = parse_pressure(*memory);
    }
    if (const auto io = read_small_file(dir + "/io.pressure")) {
        sample.io_pressure = parse_pressure(*io);
    }
}

}  // namespace

CgroupSample read_cgroup_v2(const CgroupLayout& layout, const std::string& cgroup,
                            ReadOptions options) {
    CgroupSample sample;
    const std::string dir = layout.v2_dir(cgroup);
    if (dir.empty()) {
        return sample;
    }
    read_cpu(dir, options, sample);
    read_memory(dir, options, sample);
    sample.pids_current = read_u64_file(dir + "/pids.current");
    if (sample.pids_current) {
        sample.found = true;
    }
    if (sample.found) {
        read_pressure(dir, sample);
        if (options.processes) {
            sample.process_count = count_processes(dir);
        }
    }
    return sample;
}

}  // namespace berth::daemon::stats
