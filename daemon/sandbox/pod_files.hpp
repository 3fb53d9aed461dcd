// The files a pod's containers bind-mount: /etc/resolv.conf, /etc/hostname,
// /etc/hosts.
#pragma once

#include <string>

#include "berth/cri_api.hpp"

namespace berth::daemon::sandbox {

// From the pod's DNSConfig ("nameserver", "search", "options" lines, as
// kubelet expects them), or a copy of the host's resolv.conf when the pod
// gives none.
std::string resolv_conf_content(const runtime::v1::DNSConfig* dns,
                                const std::string& host_resolv_conf = "/etc/resolv.conf");

// The pod's hostname: config.hostname, else the node's (as CRI-O and
// containerd: kubelet leaves it empty for some pods, and a pod name may be
// longer than a hostname can be).
std::string pod_hostname(const runtime::v1::PodSandboxConfig& config);

// The node's hostname (empty if it cannot be read).
std::string node_hostname();

// Why `hostname` cannot be a hostname (empty when it can): at most 64 bytes
// (the kernel's limit), of labels of letters, digits and '-' separated by
// single dots, neither starting nor ending with '-' or '.'.
std::string hostname_problem(const std::string& hostname);

// localhost entries, and the pod's own name on its IP when it has one.
std::string hosts_content(const std::string& hostname, const std::string& ip);

}  // namespace berth::daemon::sandbox
