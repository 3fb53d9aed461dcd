#include "sandbox/sandbox.hpp"

#include <stdexcept>

#include "proto_json.hpp"

namespace berth::daemon::sandbox {

const char* to_string(SandboxState state) {
    switch (state) {
    case SandboxState::Creating:
        return "creating";
    case SandboxState::Ready:
        return "ready";
    case SandboxState::NotReady:
        break;
    }
    return "notready";
}

namespace {

SandboxState parse_state(const std::string& text) {
    if (text == "ready") {
        return SandboxState::Ready;
    }
    if (text == "notready") {
        return SandboxState::NotReady;
    }
    if (text == "creating") {
        return SandboxState::Creating;
    }
    throw std::runtime_error("unknown sandbox state \"" + text + "\"");
}

}  // namespace

std::string sandbox_name(const runtime::v1::PodSandboxMetadata& metadata) {
    return "k8s_POD_" + metadata.name() + "_" + metadata.namespace_() + "_" + metadata.uid() + "_" +
           std::to_string(metadata.attempt());
}

nlohmann::json to_json(const Sandbox& sandbox) {
    nlohmann::json json = {
        {"id", sandbox.id},
        {"name", sandbox.name},
        {"runtime_handler", sandbox.runtime_handler},
        {"created_at", sandbox.created_at},
        {"state", to_string(sandbox.state)},
        {"config", message_to_json(sandbox.config)},
        {"namespaces",
         {{"network", sandbox.netns_path},
          {"ipc", sandbox.ipcns_path},
          {"uts", sandbox.utsns_path},
          {"pid", sandbox.pidns_path},
          {"user", sandbox.userns_path}}},
        {"init", {{"pid", sandbox.init_pid}, {"start_time", sandbox.init_start_time}}},
        {"sandbox_task", sandbox.sandbox_task},
        {"files",
         {{"resolv_conf", sandbox.resolv_conf_path},
          {"hostname", sandbox.hostname_path},
          {"hosts", sandbox.hosts_path},
          {"shm", sandbox.shm_path}}},
        {"network",
         {{"name", sandbox.network_name},
          {"attached", sandbox.network_attached},
          {"cni_config", sandbox.cni_config},
          {"cni_result", sandbox.cni_result},
          {"ip", sandbox.ip},
          {"additional_ips", sandbox.additional_ips}}},
        {"cgroup_parent", sandbox.cgroup_parent},
        {"cgroup_path", sandbox.cgroup_path},
    };
    if (!sandbox.unclaimed_request.empty())
        json["unclaimed_request"] = sandbox.unclaimed_request;
    return json;
}

void from_json(const nlohmann::json& json, Sandbox& sandbox) {
    try {
        sandbox.id = json.at("id").get<std::string>();
        sandbox.name = json.at("name").get<std::string>();
        sandbox.runtime_handler = json.at("runtime_handler").get<std::string>();
        sandbox.created_at = json.at("created_at").get<std::int64_t>();
        sandbox.state = parse_state(json.at("state").get<std::string>());
        message_from_json(json.at("config"), sandbox.config);
        const auto& namespaces = json.at("namespaces");
        sandbox.netns_path = namespaces.at("network").get<std::string>();
        sandbox.ipcns_path = namespaces.at("ipc").get<std::string>();
        sandbox.utsns_path = namespaces.at("uts").get<std::string>();
        sandbox.pidns_path = namespaces.at("pid").get<std::string>();
        // Records written before pods could have a user namespace lack it.
        sandbox.userns_path = namespaces.value("user", std::string());
        sandbox.init_pid = json.at("init").at("pid").get<int>();
        sandbox.init_start_time = json.at("init").at("start_time").get<std::uint64_t>();
        // Records written before VM runtimes existed have no sandbox task.
        sandbox.sandbox_task = json.value("sandbox_task", false);
        const auto& files = json.at("files");
        sandbox.resolv_conf_path = files.at("resolv_conf").get<std::string>();
        sandbox.hostname_path = files.at("hostname").get<std::string>();
        sandbox.hosts_path = files.at("hosts").get<std::string>();
        sandbox.shm_path = files.at("shm").get<std::string>();
        const auto& network = json.at("network");
        sandbox.network_name = network.at("name").get<std::string>();
        sandbox.network_attached = network.at("attached").get<bool>();
        sandbox.cni_config = network.at("cni_config");
        sandbox.cni_result = network.at("cni_result");
        sandbox.ip = network.at("ip").get<std::string>();
        sandbox.additional_ips = network.at("additional_ips").get<std::vector<std::string>>();
        sandbox.cgroup_parent = json.at("cgroup_parent").get<std::string>();
        sandbox.cgroup_path = json.at("cgroup_path").get<std::string>();
        // Absent in records written before results were kept for retries.
        sandbox.unclaimed_request = json.value("unclaimed_request", "");
    } catch (const nlohmann::json::exception& error) {
        throw std::runtime_error(std::string("malformed sandbox record: ") + error.what());
    }
}

}  // namespace berth::daemon::sandbox
