// Where the cgroup controllers that stats read are mounted. On cgroup v2
// every controller lives in one tree; on v1 each has its own mount, and
// they may be combined ("cpu,cpuacct") or not (this project's machines mount
// cpu and cpuacct apart). A hybrid host (v1 controllers plus an empty v2
// tree at /sys/fs/cgroup/unified) is read as v1.
#pragma once

#include <map>
#include <string>

namespace berth::daemon::stats {

struct CgroupLayout {
    bool unified = false;      // cgroup v2: read everything below unified_root
    std::string unified_root;  // the cgroup2 mount point, "" when none
    // v1: controller name ("cpuacct", "memory", "pids", "cpu") -> mount point.
    std::map<std::string, std::string> v1_roots;

    // The v1 directory of `controller` for `cgroup` (a path below the
    // hierarchy roots, "/kubepods/pod1/berth-<id>"); "" when that controller
    // is not mounted.
    std::string v1_dir(const std::string& controller, const std::string& cgroup) const;
    std::string v2_dir(const std::string& cgroup) const;
};

// Builds the layout from the text of /proc/self/mountinfo.
CgroupLayout parse_cgroup_layout(const std::string& mountinfo);

// This host's layout, read once (mounts of cgroup hierarchies do not move
// while berthd runs).
const CgroupLayout& host_cgroup_layout();

}  // namespace berth::daemon::stats
