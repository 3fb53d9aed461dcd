// The pod's pinned namespaces and the sysctls applied inside them.
#pragma once

#include <sys/types.h>

#include <string>

#include "berth/cri_api.hpp"
#include "sandbox/sandbox.hpp"

namespace berth::daemon::sandbox {

enum class PodNamespace { Net, Ipc, Uts, Pid };

// <runroot>/<kind>ns/<id>: where a pod's namespace of that kind is pinned.
std::string pod_namespace_path(PodNamespace kind, const std::string& runroot,
                               const std::string& id);

// Creates a new namespace and pins it at pod_namespace_path(); returns the
// pin path. The UTS namespace gets `hostname`.
std::string pin_pod_namespace(PodNamespace kind, const std::string& runroot, const std::string& id,
                              const std::string& hostname = "");
// Pins the namespace of a running process (the pod's init, for PID).
std::string pin_process_namespace(PodNamespace kind, pid_t pid, const std::string& runroot,
                                  const std::string& id);
void unpin_pod_namespace(const std::string& path);
bool pod_namespace_pinned(const std::string& path, PodNamespace kind);

// Checks every sysctl of the config against the pod's namespace modes
// (INVALID_ARGUMENT for a node-wide one, or a net/ipc one while that
// namespace is the host's) without applying anything.
void validate_sysctls(const runtime::v1::PodSandboxConfig& config);
// Writes them inside the pinned namespaces.
void apply_sysctls(const Sandbox& record);

}  // namespace berth::daemon::sandbox
