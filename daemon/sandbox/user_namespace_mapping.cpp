#include "sandbox/user_namespace_mapping.hpp"

#include <limits>

#include "status_error.hpp"

namespace berth::daemon::sandbox {

namespace v1 = runtime::v1;

namespace {

constexpr const char* kField = "config.linux.security_context.namespace_options.userns_options";

IdRange checked_range(const google::protobuf::RepeatedPtrField<v1::IDMapping>& mappings,
                      const std::string& field) {
    if (mappings.size() != 1) {
        throw invalid_argument(field + ": exactly one mapping is supported, got " +
                               std::to_string(mappings.size()));
    }
    const auto& mapping = mappings[0];
    const IdRange range{mapping.container_id(), mapping.host_id(), mapping.length()};
    if (range.length == 0) {
        throw invalid_argument(field + "[0].length must be greater than 0");
    }
    if (range.container_id != 0) {
        // With a single range, only one that starts at 0 maps the pod's root.
        throw invalid_argument(field + ": container id 0 must be mapped (the range starts at " +
                               std::to_string(range.container_id) + ")");
    }
    constexpr std::uint64_t kIds = std::uint64_t{std::numeric_limits<std::uint32_t>::max()};
    if (std::uint64_t{range.host_id} + range.length > kIds ||
        std::uint64_t{range.container_id} + range.length > kIds) {
        throw invalid_argument(field + "[0]: host_id " + std::to_string(range.host_id) +
                               " + length " + std::to_string(range.length) +
                               " overflows the 32-bit id space");
    }
    if (range.host_id == 0) {
        // The pod's root would be the host's root: no isolation at all.
        throw invalid_argument(field + "[0].host_id must not be 0 (host root)");
    }
    return range;
}

bool overlap(const IdRange& a, const IdRange& b) {
    const std::uint64_t a_end = std::uint64_t{a.host_id} + a.length;
    const std::uint64_t b_end = std::uint64_t{b.host_id} + b.length;
    return a.host_id < b_end && b.host_id < a_end;
}

}  // namespace

std::optional<UserNamespaceMapping> pod_user_namespace_mapping(const v1::PodSandboxConfig& config) {
    const auto& namespaces = config.linux().security_context().namespace_options();
    if (!namespaces.has_userns_options()) {
        return std::nullopt;
    }
    const auto& options = namespaces.userns_options();
    const std::string field = kField;
    switch (options.mode()) {
    case v1::NODE:
        if (!options.uids().empty() || !options.gids().empty()) {
            throw invalid_argument(field + ": mode NODE takes no uids or gids");
        }
        return std::nullopt;
    case v1::POD:
        break;
    default:
        throw invalid_argument(field + ".mode must be POD or NODE, not " +
                               v1::NamespaceMode_Name(options.mode()));
    }
    if (namespaces.network() == v1::NODE || namespaces.ipc() == v1::NODE ||
        namespaces.pid() == v1::NODE) {
        throw invalid_argument(
            field +
            ": a pod with its own user namespace cannot use the host's network, IPC "
            "or PID namespace");
    }
    return UserNamespaceMapping{checked_range(options.uids(), field + ".uids"),
                                checked_range(options.gids(), field + ".gids")};
}

std::string overlapping_host_range(const UserNamespaceMapping& a, const UserNamespaceMapping& b) {
    if (overlap(a.uids, b.uids)) {
        return "uids";
    }
    if (overlap(a.gids, b.gids)) {
        return "gids";
    }
    return "";
}

void check_container_user_namespace(const v1::ContainerConfig& container,
                                    const std::optional<UserNamespaceMapping>& pod) {
    const auto& namespaces = container.linux().security_context().namespace_options();
    if (!namespaces.has_userns_options()) {
        return;
    }
    const auto& options = namespaces.userns_options();
    const std::string field = "linux.security_context.namespace_options.userns_options";
    const v1::NamespaceMode pod_mode = pod ? v1::POD : v1::NODE;
    if (options.mode() != pod_mode) {
        throw invalid_argument(field + ".mode " + v1::NamespaceMode_Name(options.mode()) +
                               " differs from the pod's (" + v1::NamespaceMode_Name(pod_mode) +
                               "): a container uses its pod's user namespace");
    }
    if (!pod || (options.uids().empty() && options.gids().empty())) {
        return;
    }
    const auto same = [](const auto& mappings, const IdRange& range) {
        return mappings.size() == 1 && mappings[0].container_id() == range.container_id &&
               mappings[0].host_id() == range.host_id && mappings[0].length() == range.length;
    };
    if (!same(options.uids(), pod->uids) || !same(options.gids(), pod->gids)) {
        throw invalid_argument(field + ": the mappings differ from the pod's");
    }
}

std::string id_map_line(const IdRange& range) {
    return std::to_string(range.container_id) + " " + std::to_string(range.host_id) + " " +
           std::to_string(range.length) + "\n";
}

}  // namespace berth::daemon::sandbox
