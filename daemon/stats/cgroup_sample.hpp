// What one cgroup reports, read from its files in one pass, in the same
// units whatever the cgroup version: nanoseconds and bytes. A value that
// could not be read (a file missing, a controller not mounted, junk in a
// file) stays empty; nothing here throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stats/cgroup_files.hpp"
#include "stats/cgroup_layout.hpp"

namespace berth::daemon::stats {

struct CgroupSample {
    bool found = false;  // at least one of its files could be read

    std::optional<std::uint64_t> cpu_usage_ns;
    std::optional<std::uint64_t> memory_usage;        // bytes, page cache included
    std::optional<std::uint64_t> memory_working_set;  // usage minus inactive file pages
    std::optional<std::uint64_t> memory_rss;          // anonymous memory
    std::optional<std::uint64_t> memory_limit;        // empty when unlimited
    std::optional<std::uint64_t> page_faults;
    std::optional<std::uint64_t> major_page_faults;
    std::optional<std::uint64_t> swap_usage;
    std::optional<std::uint64_t> swap_limit;    // empty when unlimited
    std::optional<std::uint64_t> pids_current;  // tasks (threads) in the subtree

    // Read with ReadOptions::details.
    std::optional<std::uint64_t> cpu_user_ns;
    std::optional<std::uint64_t> cpu_system_ns;
    std::optional<std::uint64_t> cpu_periods;
    std::optional<std::uint64_t> cpu_throttled_periods;
    std::optional<std::uint64_t> cpu_throttled_ns;
    std::optional<std::uint64_t> memory_max_usage;
    std::optional<std::uint64_t> memory_cache;
    std::optional<std::uint64_t> memory_mapped_file;
    std::optional<std::uint64_t> memory_failcnt;
    std::optional<std::uint64_t> oom_kills;

    // Read with ReadOptions::processes: processes (not threads) in the
    // cgroup and every cgroup below it.
    std::optional<std::uint64_t> process_count;

    // Pressure stall information: cgroup v2 only.
    Pressure cpu_pressure;
    Pressure memory_pressure;
    Pressure io_pressure;
};

struct ReadOptions {
    bool details = false;    // the fields only the metrics RPCs use
    bool processes = false;  // count processes (walks the subtree)
};

// `cgroup` is a path below the hierarchy roots ("/berth/berth-<id>").
CgroupSample read_cgroup(const CgroupLayout& layout, const std::string& cgroup,
                         ReadOptions options = {});
CgroupSample read_cgroup_v1(const CgroupLayout& layout, const std::string& cgroup,
                            ReadOptions options);
CgroupSample read_cgroup_v2(const CgroupLayout& layout, const std::string& cgroup,
                            ReadOptions options);

// Adds `part` into `total` (a pod without a cgroup of its own is the sum of
// its containers). Limits and pressure do not add up and are left alone.
void add_sample(CgroupSample& total, const CgroupSample& part);

// Processes listed in cgroup.procs of `directory` and every directory below.
std::optional<std::uint64_t> count_processes(const std::string& directory);

// usage minus inactive file pages, never below zero (kubelet's working set).
std::uint64_t working_set(std::uint64_t usage, std::optional<std::uint64_t> inactive_file);

}  // namespace berth::daemon::stats
