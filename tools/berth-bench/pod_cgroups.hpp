// Pod cgroups made the way kubelet's cgroupfs driver makes them: before
// RunPodSandbox, in every mounted hierarchy, and removed once the pods are
// gone. The runtimes only create and remove the cgroups of their own
// containers below the pod's, so without this the pod directories would
// be left behind.
#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace berth::bench {

class PodCgroups {
public:
    PodCgroups() = default;
    // Removes every directory it created, deepest first. A pod's directory
    // that is still busy is named on stderr: a runtime left a cgroup in it.
    // A parent still in use (by another run) is left quietly.
    ~PodCgroups();
    PodCgroups(const PodCgroups&) = delete;
    PodCgroups& operator=(const PodCgroups&) = delete;

    // Creates `path` ("/a/b/pod<uid>") in every cgroup hierarchy, filling a
    // new v1 cpuset from its parent (it takes no task while empty). Returns
    // "" or what failed; thread-safe.
    std::string create(const std::string& path);

private:
    std::mutex mutex_;
    std::vector<std::string> hierarchies_;
    bool hierarchies_read_ = false;
    struct Created {
        std::string directory;
        bool pod = false;  // a pod's own, not a parent shared with other runs
    };
    std::vector<Created> created_;  // in creation order
};

// The mount points of the cgroup and cgroup2 file systems in
// /proc/self/mountinfo.
std::vector<std::string> cgroup_hierarchies();

}  // namespace berth::bench
