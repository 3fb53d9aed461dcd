// What a container of a pod with its own user namespace needs besides the
// spec's namespace entry: its image layers and volumes shown with the pod's
// ids (idmapped mounts), so that files owned by 0 on disk are the
// container's root's and runc 1.1, which cannot idmap, needs to do nothing.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "berth/cri_api.hpp"
#include "berth/storage/image_storage.hpp"
#include "sandbox/sandbox.hpp"

namespace berth::daemon::container {

// The ids the container's root filesystem is shown with; std::nullopt for a
// pod in the host's user namespace.
std::optional<storage::IdMap> rootfs_idmap(const sandbox::Sandbox& pod);

// Replaces the source of every bind mount in `spec` that comes from the
// request's mounts with an idmapped bind of it (kept with the container's
// root filesystem). Throws StatusError INVALID_ARGUMENT for a mount whose
// propagation cannot work through an idmapped copy, FAILED_PRECONDITION
// where the source's filesystem cannot be idmapped.
void idmap_volume_mounts(nlohmann::json& spec, const runtime::v1::ContainerConfig& config,
                         const std::string& container_id, storage::ImageStorage& images);

}  // namespace berth::daemon::container
