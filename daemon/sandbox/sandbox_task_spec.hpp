// The OCI spec of a pod's sandbox task, for runtimes that run one (VM
// runtimes: Kata boots the pod's VM for it). Its process is berth-pod-init,
// bound read-only into an otherwise empty root, in the namespaces berthd has
// pinned for the pod; the annotations are the ones containerd's CRI sets,
// which Kata and containerd-shim-runc-v2 read to group a pod's tasks.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "berth/config/config.hpp"
#include "sandbox/sandbox.hpp"

namespace berth::daemon::sandbox {

// `rootfs` is an empty directory; `pod_init` the berth-pod-init binary.
nlohmann::json sandbox_task_spec(const Sandbox& record, const std::string& rootfs,
                                 const std::string& pod_init, config::CgroupManager manager);

}  // namespace berth::daemon::sandbox
