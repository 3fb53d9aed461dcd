// The identity a container's process is started with: uid, gid and
// supplementary groups, as ContainerStatus.user reports them.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::daemon::container {

struct ProcessUser {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> groups;  // supplementary, as the spec lists them

    bool operator==(const ProcessUser&) const = default;
};

// From an OCI spec's process.user (uid, gid, additionalGids); nullopt when
// the spec has none.
std::optional<ProcessUser> spec_process_user(const nlohmann::json& spec);

nlohmann::json to_json(const ProcessUser& user);
// Throws nlohmann::json::exception on a malformed object.
ProcessUser process_user_from_json(const nlohmann::json& json);

}  // namespace berth::daemon::container
