#include "container/container.hpp"

#include <stdexcept>

#include "proto_json.hpp"

namespace berth::daemon::container {

namespace {

ContainerState parse_state(const std::string& text) {
    for (auto state : {ContainerState::Creating, ContainerState::Created, ContainerState::Running,
                       ContainerState::Exited}) {
        if (text == to_string(state))
            return state;
    }
    throw std::runtime_error("unknown container state \"" + text + "\"");
}

}  // namespace

const char* to_string(ContainerState state) {
    switch (state) {
    case ContainerState::Creating:
        return "creating";
    case ContainerState::Created:
        return "created";
    case ContainerState::Running:
        return "running";
    case ContainerState::Exited:
        return "exited";
    }
    return "unknown";
}

runtime::v1::ContainerState to_cri(ContainerState state) {
    switch (state) {
    case ContainerState::Created:
        return runtime::v1::CONTAINER_CREATED;
    case ContainerState::Running:
        return runtime::v1::CONTAINER_RUNNING;
    case ContainerState::Exited:
        return runtime::v1::CONTAINER_EXITED;
    case ContainerState::Creating:
        break;
    }
    return runtime::v1::CONTAINER_UNKNOWN;
}

std::string container_name(const runtime::v1::ContainerMetadata& metadata,
                           const runtime::v1::PodSandboxMetadata& pod) {
    return "k8s_" + metadata.name() + "_" + pod.name() + "_" + pod.namespace_() + "_" + pod.uid() +
           "_" + std::to_string(metadata.attempt());
}

nlohmann::json to_json(const Container& container) {
    nlohmann::json json = {
        {"id", container.id},
        {"name", container.name},
        {"sandbox_id", container.sandbox_id},
        {"runtime_handler", container.runtime_handler},
        {"config", message_to_json(container.config)},
        {"image_id", container.image_id},
        {"image_ref", container.image_ref},
        {"stop_signal", container.stop_signal},
        {"state", to_string(container.state)},
        {"created_at", container.created_at},
        {"started_at", container.started_at},
        {"finished_at", container.finished_at},
        {"exit_code", container.exit_code},
        {"reason", container.reason},
        {"message", container.message},
        {"pid", container.pid},
        {"log_path", container.log_path},
        {"bundle", container.bundle},
        {"rootfs", container.rootfs},
    };
    if (container.user)
        json["user"] = to_json(*container.user);
    if (!container.unclaimed_request.empty())
        json["unclaimed_request"] = container.unclaimed_request;
    return json;
}

void from_json(const nlohmann::json& json, Container& container) {
    try {
        container.id = json.at("id").get<std::string>();
        container.name = json.at("name").get<std::string>();
        container.sandbox_id = json.at("sandbox_id").get<std::string>();
        container.runtime_handler = json.at("runtime_handler").get<std::string>();
        message_from_json(json.at("config"), container.config);
        container.image_id = json.at("image_id").get<std::string>();
        container.image_ref = json.at("image_ref").get<std::string>();
        container.stop_signal = json.at("stop_signal").get<std::string>();
        container.state = parse_state(json.at("state").get<std::string>());
        container.created_at = json.at("created_at").get<std::int64_t>();
        container.started_at = json.at("started_at").get<std::int64_t>();
        container.finished_at = json.at("finished_at").get<std::int64_t>();
        container.exit_code = json.at("exit_code").get<int>();
        container.reason = json.at("reason").get<std::string>();
        container.message = json.at("message").get<std::string>();
        container.pid = json.at("pid").get<int>();
        container.log_path = json.at("log_path").get<std::string>();
        container.bundle = json.at("bundle").get<std::string>();
        container.rootfs = json.at("rootfs").get<std::string>();
        if (json.contains("user"))
            container.user = process_user_from_json(json["user"]);
        container.unclaimed_request = json.value("unclaimed_request", "");
    } catch (const nlohmann::json::exception& error) {
        throw std::runtime_error(std::string("malformed container record: ") + error.what());
    }
}

}  // namespace berth::daemon::container
