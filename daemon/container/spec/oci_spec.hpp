// CRI container config + image config -> OCI runtime spec (config.json, the
// runtime-spec 1.0.2 shape that runc and crun read). The rules follow what
// kubelet expects from CRI-O and containerd; where those two differ, the
// choice is written next to the code.
#pragma once

#include <map>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "berth/config/config.hpp"
#include "berth/cri_api.hpp"
#include "berth/storage/manifest.hpp"
#include "sandbox/sandbox.hpp"

namespace berth::daemon::container {

struct SpecInputs {
    std::string container_id;
    const runtime::v1::ContainerConfig* container = nullptr;
    const runtime::v1::PodSandboxConfig* pod = nullptr;  // the sandbox's config
    const sandbox::Sandbox* sandbox = nullptr;
    const storage::ImageConfig* image = nullptr;
    std::string image_name, image_ref;  // for annotations
    std::string rootfs;                 // the mounted root filesystem (absolute)
    std::string container_dir;          // per-container files (image volume dirs with "bind")
    const config::Config* config = nullptr;
    std::string log_path;  // resolved CRI log path
    // With PID namespace mode TARGET: the namespace to join, as
    // /proc/<pid>/ns/pid of the target container's process. The caller
    // resolves target_id, since only it knows the containers.
    std::string target_pid_ns;
    // Whether the handler's runtime makes `rro` (recursive read-only) mounts.
    bool recursive_read_only_mounts = false;
    // For each CRI mount of an image (by its index in mounts): the
    // directory or file to bind, mounted and resolved by the caller.
    std::map<int, std::string> image_mount_sources;
};

// Bad input in a CRI request or image: becomes INVALID_ARGUMENT.
class SpecError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// The OCI spec as JSON. Throws SpecError naming the field for bad input.
// Side effects, as CRI-O has them: missing host paths of CRI mounts are
// created as directories, image volumes are created in the rootfs ("mkdir")
// or under container_dir ("bind").
nlohmann::json build_oci_spec(const SpecInputs& in);

// The daemon's own /proc/self/oom_score_adj: a container cannot be given a
// lower one without CAP_SYS_RESOURCE, so oomScoreAdj is clamped to it.
int own_oom_score_adj();

// Whether the memory cgroup can limit swap (v1 memory.memsw.* or v2
// memory.swap.max); memory.swap is only set when it can. `cgroup_root` is
// where the hierarchies are mounted.
bool memory_swap_supported(const std::string& cgroup_root = "/sys/fs/cgroup");

}  // namespace berth::daemon::container
