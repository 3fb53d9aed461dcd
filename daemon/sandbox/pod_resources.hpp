// Pod-level resources (UpdatePodSandboxResources) written to the pod's own
// cgroup, <parent>/berth-<id>, on every hierarchy: the cgroup v1 files where
// a v1 controller is mounted, the v2 files on a v2 hierarchy. kubelet sizes
// the pod's parent cgroup itself; these are the limits of what runs in the
// pod's own cgroup (its init), matching what the pod was told it may use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "berth/cri_api.hpp"

namespace berth::daemon::sandbox {

// Throws INVALID_ARGUMENT naming the field (`what` is the message's path to
// it: "resources", "overhead", "config.linux.resources") when a value is out
// of the kernel's range or malformed: pods' and containers' alike, since a
// hugepage size or a unified key becomes a cgroup file name.
void validate_linux_resources(const runtime::v1::LinuxContainerResources& resources,
                              const std::string& what);

// What the pod as a whole may use: the containers' sum plus the pod's
// overhead, as kubelet sizes a pod cgroup. A limit left at 0 (none) in
// `resources` stays unlimited whatever the overhead says.
runtime::v1::LinuxContainerResources pod_level_resources(
    const runtime::v1::LinuxContainerResources& overhead,
    const runtime::v1::LinuxContainerResources& resources);

// Writes `resources` below <hierarchy><cgroup_path> for each hierarchy root.
// Returns the files written. Throws FAILED_PRECONDITION when the pod's cgroup
// is missing, a requested limit has nowhere to go (no such controller, or
// unified keys without cgroup v2) or the kernel refuses a value.
std::vector<std::string> apply_pod_resources(const std::string& cgroup_path,
                                             const runtime::v1::LinuxContainerResources& resources,
                                             const std::vector<std::string>& hierarchies);

// cgroup v1 cpu.shares as cgroup v2 cpu.weight, as runc and crun convert it.
std::uint64_t cpu_weight_from_shares(std::uint64_t shares);

}  // namespace berth::daemon::sandbox
