// Which cgroup holds a container or a pod, as a path below every hierarchy's
// root ("/kubepods/burstable/pod1/berth-<id>"). Containers: from the
// cgroupsPath of their OCI spec, in either driver's form; pods: from the
// cgroup_parent kubelet gave.
#pragma once

#include <optional>
#include <string>

namespace berth::daemon::stats {

// cgroupfs: "/a/b" as is. systemd: "<slice>:<prefix>:<name>" as runc and
// crun expand it: "kubepods-pod1.slice:berth:ID" ->
// "/kubepods.slice/kubepods-pod1.slice/berth-ID.scope". nullopt for anything
// else (a relative path, a malformed slice).
std::optional<std::string> cgroup_path_from_spec(const std::string& cgroups_path);

// linux.cgroupsPath of the OCI spec in `bundle`/config.json, expanded as
// above; nullopt when the file or the key is missing or malformed.
std::optional<std::string> container_cgroup_path(const std::string& bundle);

// A pod's cgroup parent as kubelet names it for either driver ("/kubepods/
// pod1" or "kubepods-pod1.slice"); nullopt when empty or malformed.
std::optional<std::string> pod_cgroup_path(const std::string& cgroup_parent);

}  // namespace berth::daemon::stats
