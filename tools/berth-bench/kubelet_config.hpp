// The pod and container configs berth-bench sends, built the way kubelet
// builds them, in one place: every scenario takes its configs from here so
// that a pod and its containers can never disagree (CRI-O, for one, refuses
// a container whose namespace options the pod was not run with).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "berth/cri_api.hpp"

namespace berth::bench {

enum class CgroupDriver { Cgroupfs, Systemd };

struct PodIdentity {
    std::string name;
    std::string namespace_;
    std::string uid;
    std::uint32_t attempt = 0;
};

struct PodSettings {
    bool host_network = false;
    std::string log_root;       // kubelet's pod logs directory (/var/log/pods)
    std::string cgroup_parent;  // the pod's cgroup, "" for none
    std::vector<std::string> dns_servers;
    std::map<std::string, std::string> extra_labels;
};

struct ContainerSpec {
    std::string name;
    std::string image;
    std::vector<std::string> command;
    std::uint32_t restart_count = 0;
    std::map<std::string, std::string> extra_labels;
};

// kubelet's defaults for a pod without hostPID, hostIPC or
// shareProcessNamespace: network per pod (or the node's), PID per container,
// IPC per pod.
runtime::v1::NamespaceOption kubelet_namespace_options(bool host_network);

// <root>/<namespace>_<name>_<uid>, as kubelet lays out pod log directories.
std::string pod_log_directory(const std::string& log_root, const PodIdentity& pod);
// <container name>/<restart count>.log, relative to the pod's log directory.
std::string container_log_path(const std::string& container, std::uint32_t restart_count);

// The cgroup kubelet gives a BestEffort pod below its cgroup root:
// "<root>/kubepods/besteffort/pod<uid>" with cgroupfs, the same path as a
// systemd slice name ("-" inside a part becomes "_", parts joined by "-")
// with systemd. "" when the root is "".
std::string pod_cgroup_parent(const std::string& cgroup_root, CgroupDriver driver,
                              const std::string& uid);

runtime::v1::PodSandboxConfig kubelet_pod_config(const PodIdentity& pod,
                                                 const PodSettings& settings);
// Takes the namespace options, the pod's labels and its identity from the
// pod's config rather than from settings of its own.
runtime::v1::ContainerConfig kubelet_container_config(const runtime::v1::PodSandboxConfig& pod,
                                                      const ContainerSpec& spec);

}  // namespace berth::bench
