#include "container/container_user_namespace.hpp"

#include <set>

#include "sandbox/user_namespace_mapping.hpp"
#include "status_error.hpp"

namespace berth::daemon::container {

namespace v1 = runtime::v1;

std::optional<storage::IdMap> rootfs_idmap(const sandbox::Sandbox& pod) {
    if (pod.userns_path.empty()) {
        return std::nullopt;
    }
    const auto mapping = sandbox::pod_user_namespace_mapping(pod.config);
    if (!mapping) {
        throw failed_precondition("pod " + pod.id + " has a user namespace but no mappings");
    }
    // Container id 0 is the start of each range (checked at RunPodSandbox).
    return storage::IdMap{pod.userns_path, mapping->uids.host_id, mapping->gids.host_id};
}

void idmap_volume_mounts(nlohmann::json& spec, const v1::ContainerConfig& config,
                         const std::string& container_id, storage::ImageStorage& images) {
    std::set<std::string> sources;
    for (int index = 0; index < config.mounts_size(); ++index) {
        const auto& mount = config.mounts(index);
        if (mount.propagation() != v1::PROPAGATION_PRIVATE) {
            // The idmapped copy is a mount of its own, private to Berth:
            // nothing would propagate through it either way.
            throw invalid_argument("mounts[" + std::to_string(index) +
                                   "].propagation: only PROPAGATION_PRIVATE works in a pod with "
                                   "its own user namespace");
        }
        sources.insert(mount.host_path());
    }
    if (sources.empty() || !spec.contains("mounts")) {
        return;
    }
    std::size_t next = 0;
    for (auto& mount : spec["mounts"]) {
        if (mount.value("type", "") != "bind" ||
            sources.count(mount.value("source", std::string())) == 0) {
            continue;
        }
        try {
            mount["source"] =
                images
                    .bind_idmapped_volume(container_id, mount["source"].get<std::string>(), next++)
                    .string();
        } catch (const storage::StorageError& error) {
            throw StatusError(
                status_code(error.kind()),
                "volume " + mount.value("destination", std::string()) + ": " + error.what());
        }
    }
}

}  // namespace berth::daemon::container
