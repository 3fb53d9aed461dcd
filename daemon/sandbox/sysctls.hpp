// Which sysctls a pod may set, and in which of its namespaces they live.
#pragma once

#include <string>

namespace berth::daemon::sandbox {

enum class SysctlNamespace { Net, Ipc, Uts };

// The namespace a sysctl belongs to; throws INVALID_ARGUMENT for a name that
// is not namespaced (it would change the whole node) or is malformed.
SysctlNamespace classify_sysctl(const std::string& name);

// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward". Kubernetes also
// accepts "/" as the separator; dots inside a segment are not supported.
std::string sysctl_path(const std::string& name);

}  // namespace berth::daemon::sandbox
