// The pod's place in the cgroup tree. kubelet names a parent
// (`linux.cgroup_parent`: "/kubepods/burstable/pod<uid>" with the cgroupfs
// driver, "kubepods-burstable-pod<uid>.slice" with systemd); the pod's own
// processes (today its init) go into a child cgroup "berth-<id>" below it on
// every hierarchy, as CRI-O puts its infra container in "crio-<id>". Parents
// are created when missing and never removed: kubelet owns them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "berth/config/config.hpp"

namespace berth::daemon::sandbox {

// The parent as a path below each hierarchy's root. Throws INVALID_ARGUMENT
// for a parent that does not fit the configured manager (a path for
// cgroupfs, a ".slice" name for systemd, whose nesting "a-b.slice" ->
// "/a.slice/a-b.slice" is spelled out).
std::string cgroup_parent_path(const std::string& parent, config::CgroupManager manager);

// Mount points of every cgroup hierarchy (v1 controllers and v2), from
// /proc/self/mountinfo.
std::vector<std::string> cgroup_hierarchies();

// cgroup v2: a cgroup has a controller's files (memory.max, cpu.max, ...)
// only when its parent enables the controller in cgroup.subtree_control, and
// a new directory enables none. So the v2 root `root` and every directory of
// `parent_path` (a path below it) enable each controller they have, as runc
// does for a container's ancestors. One an ancestor cannot enable (it holds
// processes, which v2 refuses) stays off: the pod's cgroup then lacks those
// files, which UpdatePodSandboxResources reports.
void enable_v2_controllers(const std::string& root, const std::string& parent_path);

// Creates <hierarchy><parent>/berth-<id> on every hierarchy and moves `pid`
// there (when non-zero). Returns the cgroup path below each root.
std::string enter_pod_cgroup(const std::string& parent_path, const std::string& id, pid_t pid);

// Removes the pod's own cgroup on every hierarchy (it must be empty: the
// init is stopped first). Missing directories are fine.
void remove_pod_cgroup(const std::string& cgroup_path);

}  // namespace berth::daemon::sandbox
