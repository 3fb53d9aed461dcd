// The id mappings a pod asks for with userns_options (mode POD) and the rules
// they must follow; pure checks, nothing is created here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "berth/cri_api.hpp"

namespace berth::daemon::sandbox {

struct IdRange {
    std::uint32_t container_id = 0;
    std::uint32_t host_id = 0;
    std::uint32_t length = 0;

    bool operator==(const IdRange&) const = default;
};

struct UserNamespaceMapping {
    IdRange uids;
    IdRange gids;

    bool operator==(const UserNamespaceMapping&) const = default;
};

// The mapping of a pod with its own user namespace, std::nullopt for one in
// the host's (userns_options absent or mode NODE). Throws StatusError
// INVALID_ARGUMENT naming the offending field for anything else: modes
// CONTAINER and TARGET, not exactly one range per kind, a range that leaves
// container id 0 unmapped, is empty, overflows 32 bits or includes host id 0,
// and host network, IPC or PID namespaces (a namespace the pod's user
// namespace does not own would give its root nothing).
std::optional<UserNamespaceMapping> pod_user_namespace_mapping(
    const runtime::v1::PodSandboxConfig& config);

// "uids" or "gids" when the host ranges of `a` and `b` share an id, else "".
std::string overlapping_host_range(const UserNamespaceMapping& a, const UserNamespaceMapping& b);

// A container follows its pod: userns_options in its own security context
// may only repeat the pod's (mode and, if given, mappings). Throws
// StatusError INVALID_ARGUMENT otherwise.
void check_container_user_namespace(const runtime::v1::ContainerConfig& container,
                                    const std::optional<UserNamespaceMapping>& pod);

// The "uid_map"/"gid_map" line of a range: "<container> <host> <length>\n".
std::string id_map_line(const IdRange& range);

}  // namespace berth::daemon::sandbox
