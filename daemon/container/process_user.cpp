#include "container/process_user.hpp"

namespace berth::daemon::container {

std::optional<ProcessUser> spec_process_user(const nlohmann::json& spec) {
    const auto process = spec.find("process");
    if (process == spec.end() || !process->is_object() || !process->contains("user"))
        return std::nullopt;
    const auto& user = (*process)["user"];
    ProcessUser result;
    result.uid = user.value("uid", 0U);
    result.gid = user.value("gid", 0U);
    result.groups = user.value("additionalGids", std::vector<std::uint32_t>{});
    return result;
}

nlohmann::json to_json(const ProcessUser& user) {
    return {{"uid", user.uid}, {"gid", user.gid}, {"groups", user.groups}};
}

ProcessUser process_user_from_json(const nlohmann::json& json) {
    return {json.at("uid").get<std::uint32_t>(), json.at("gid").get<std::uint32_t>(),
            json.at("groups").get<std::vector<std::uint32_t>>()};
}

}  // namespace berth::daemon::container
