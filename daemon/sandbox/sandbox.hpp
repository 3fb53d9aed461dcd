// One pod sandbox as Berth keeps it: in memory and, durably, as
// <root>/sandboxes/<id>/sandbox.json. A record is plain data; the store hands
// out immutable snapshots and replaces them whole on every change.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/cri_api.hpp"

namespace berth::daemon::sandbox {

enum class SandboxState {
    // RunPodSandbox has not finished (never shown, cleaned at restore), or
    // it finished for a caller that had gone (unclaimed_request set): never
    // shown either, kept for a retry of the same request.
    Creating,
    Ready,
    NotReady,
};

struct Sandbox {
    std::string id;
    std::string name;  // k8s_POD_<name>_<namespace>_<uid>_<attempt>
    runtime::v1::PodSandboxConfig config;
    std::string runtime_handler;  // as resolved ("" never stored)
    std::int64_t created_at = 0;  // ns since the epoch
    SandboxState state = SandboxState::Creating;

    // Pinned namespaces; empty where the pod uses the host's.
    std::string netns_path;
    std::string ipcns_path;
    std::string utsns_path;
    std::string pidns_path;  // only with a pod-wide PID namespace (pid: POD)
    // Only with userns_options mode POD: the pod's own user namespace, which
    // owns its network, IPC, UTS (and PID) namespaces.
    std::string userns_path;

    // berth-pod-init, PID 1 of the pod's PID namespace; 0 when none runs.
    // The start time (clock ticks after boot) tells it apart from a later
    // process that reuses the pid.
    int init_pid = 0;
    std::uint64_t init_start_time = 0;

    // The pod's runtime runs a sandbox task for it (a VM runtime's shim,
    // where Kata boots the VM); its bundle is the sandbox's directory.
    bool sandbox_task = false;

    // Files and mounts the pod's containers will bind-mount.
    std::string resolv_conf_path;
    std::string hostname_path;
    std::string hosts_path;
    std::string shm_path;  // a tmpfs mount; empty with IPC NODE

    // Networking: the CNI network list used for ADD (kept so that DEL works
    // even after the configuration directory changed) and its result.
    std::string network_name;
    bool network_attached = false;  // ADD done and not yet undone by DEL
    nlohmann::json cni_config;
    nlohmann::json cni_result;
    std::string ip;
    std::vector<std::string> additional_ips;

    std::string cgroup_parent;  // as kubelet gave it
    std::string cgroup_path;    // the pod's own cgroup below every hierarchy root

    // The fingerprint of the RunPodSandbox request whose result this is,
    // while nobody has received it (see PendingResults); empty once it was
    // answered.
    std::string unclaimed_request;

    bool host_network() const { return netns_path.empty(); }
};

const char* to_string(SandboxState state);

nlohmann::json to_json(const Sandbox& sandbox);
// Throws std::runtime_error on a malformed record.
void from_json(const nlohmann::json& json, Sandbox& sandbox);

// k8s_POD_<name>_<namespace>_<uid>_<attempt>, the name CRI-O reserves.
std::string sandbox_name(const runtime::v1::PodSandboxMetadata& metadata);

}  // namespace berth::daemon::sandbox
