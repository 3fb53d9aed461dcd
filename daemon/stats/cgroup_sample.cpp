#include "stats/cgroup_sample.hpp"

#include <dirent.h>

#include <memory>
#include <vector>

namespace berth::daemon::stats {

namespace {

void add(std::optional<std::uint64_t>& total, const std::optional<std::uint64_t>& part) {
    if (part) {
        total = total.value_or(0) + *part;
    }
}

std::uint64_t count_lines(const std::string& text) {
    std::uint64_t lines = 0;
    for (std::size_t start = 0; start < text.size();) {
        const auto newline = text.find('\n', start);
        if (newline != start) {
            ++lines;  // a non-empty line
        }
        if (newline == std::string::npos) {
            break;
        }
        start = newline + 1;
    }
    return lines;
}

}  // namespace

CgroupSample read_cgroup(const CgroupLayout& layout, const std::string& cgroup,
                         ReadOptions options) {
    return layout.unified ? read_cgroup_v2(layout, cgroup, options)
                          : read_cgroup_v1(layout, cgroup, options);
}

std::uint64_t working_set(std::uint64_t usage, std::optional<std::uint64_t> inactive_file) {
    const std::uint64_t inactive = inactive_file.value_or(0);
    return usage > inactive ? usage - inactive : 0;
}

std::optional<std::uint64_t> count_processes(const std::string& directory) {
    // Iterative, one directory open at a time: a deep tree cannot exhaust
    // the daemon's fds or its stack.
    std::vector<std::string> pending{directory};
    std::optional<std::uint64_t> total;
    while (!pending.empty()) {
        const std::string current = std::move(pending.back());
        pending.pop_back();
        const auto procs = read_small_file(current + "/cgroup.procs", 4 * 1024 * 1024);
        if (!procs) {
            continue;
        }
        total = total.value_or(0) + count_lines(*procs);
        const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(current.c_str()), ::closedir);
        if (!dir) {
            continue;
        }
        while (const dirent* entry = ::readdir(dir.get())) {
            const std::string name = entry->d_name;
            if (entry->d_type == DT_DIR && name != "." && name != "..") {
                pending.push_back(current + "/" + name);
            }
        }
    }
    return total;
}

void add_sample(CgroupSample& total, const CgroupSample& part) {
    if (!part.found) {
        return;
    }
    total.found = true;
    add(total.cpu_usage_ns, part.cpu_usage_ns);
    add(total.memory_usage, part.memory_usage);
    add(total.memory_working_set, part.memory_working_set);
    add(total.memory_rss, part.memory_rss);
    add(total.page_faults, part.page_faults);
    add(total.major_page_faults, part.major_page_faults);
    add(total.swap_usage, part.swap_usage);
    add(total.pids_current, part.pids_current);
    add(total.cpu_user_ns, part.cpu_user_ns);
    add(total.cpu_system_ns, part.cpu_system_ns);
    add(total.cpu_periods, part.cpu_periods);
    add(total.cpu_throttled_periods, part.cpu_throttled_periods);
    add(total.cpu_throttled_ns, part.cpu_throttled_ns);
    add(total.memory_max_usage, part.memory_max_usage);
    add(total.memory_cache, part.memory_cache);
    add(total.memory_mapped_file, part.memory_mapped_file);
    add(total.memory_failcnt, part.memory_failcnt);
    add(total.oom_kills, part.oom_kills);
    add(total.process_count, part.process_count);
}

}  // namespace berth::daemon::stats
