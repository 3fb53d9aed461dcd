#include "berth/config/serialize.hpp"

#include <sstream>

#include "toml_document.hpp"

namespace berth::config {

namespace {

nlohmann::ordered_json runtime_handler_json(const RuntimeHandler& handler) {
    return {
        {"runtime_path", handler.runtime_path},
        {"runtime_type", to_string(handler.runtime_type)},
        {"runtime_root", handler.runtime_root},
        {"runtime_config_path", handler.runtime_config_path},
        {"shim_timeout", handler.shim_timeout},
        {"privileged_without_host_devices", handler.privileged_without_host_devices},
    };
}

TomlValue json_to_toml(const nlohmann::ordered_json& value) {
    switch (value.type()) {
    case nlohmann::json::value_t::object: {
        TomlValue::table_type table;
        for (const auto& [key, item] : value.items()) {
            table.emplace(key, json_to_toml(item));
        }
        return TomlValue(std::move(table));
    }
    case nlohmann::json::value_t::array: {
        TomlValue::array_type array;
        for (const auto& item : value) {
            array.push_back(json_to_toml(item));
        }
        return TomlValue(std::move(array));
    }
    case nlohmann::json::value_t::boolean:
        return TomlValue(value.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
        return TomlValue(value.get<std::int64_t>());
    case nlohmann::json::value_t::number_float:
        return TomlValue(value.get<double>());
    default:
        return TomlValue(value.get<std::string>());
    }
}

}  // namespace

nlohmann::ordered_json to_json(const Config& config) {
    nlohmann::ordered_json runtimes = nlohmann::ordered_json::object();
    for (const auto& [name, handler] : config.runtime.runtimes) {
        runtimes[name] = runtime_handler_json(handler);
    }
    nlohmann::ordered_json mirrors = nlohmann::ordered_json::object();
    for (const auto& [host, endpoints] : config.image.mirrors) {
        mirrors[host] = endpoints;
    }
    const auto& api = config.api;
    const auto& runtime = config.runtime;
    const auto& image = config.image;
    nlohmann::ordered_json berth = {
        {"root", config.root},
        {"runroot", config.runroot},
        {"log_dir", config.log_dir},
        {"log_level", config.log_level},
        {"log_target", to_string(config.log_target)},
        {"api",
         {
             {"listen", api.listen},
             {"stream_address", api.stream_address},
             {"stream_port", api.stream_port},
             {"stream_enable_tls", api.stream_enable_tls},
             {"stream_tls_cert", api.stream_tls_cert},
             {"stream_tls_key", api.stream_tls_key},
             {"grpc_max_send_msg_size", api.grpc_max_send_msg_size},
             {"grpc_max_recv_msg_size", api.grpc_max_recv_msg_size},
             {"events_queue_size", api.events_queue_size},
             {"unclaimed_result_timeout", api.unclaimed_result_timeout},
         }},
        {"runtime",
         {
             {"default_runtime", runtime.default_runtime},
             {"conmon", runtime.conmon},
             {"cgroup_manager", to_string(runtime.cgroup_manager)},
             {"log_size_max", runtime.log_size_max},
             {"default_capabilities", runtime.default_capabilities},
             {"default_sysctls", runtime.default_sysctls},
             {"pids_limit", runtime.pids_limit},
             {"seccomp_use_default_when_empty", runtime.seccomp_use_default_when_empty},
             {"cdi_spec_dirs", runtime.cdi_spec_dirs},
             {"runtimes", runtimes},
         }},
        {"image",
         {
             {"default_transport", image.default_transport},
             {"insecure_registries", image.insecure_registries},
             {"mirrors", mirrors},
             {"unqualified_search_registries", image.unqualified_search_registries},
             {"pinned_images", image.pinned_images},
             {"image_volumes", to_string(image.image_volumes)},
         }},
        {"network",
         {
             {"network_dir", config.network.network_dir},
             {"plugin_dirs", config.network.plugin_dirs},
         }},
        {"metrics",
         {
             {"enable", config.metrics.enable},
             {"address", config.metrics.address},
             {"port", config.metrics.port},
         }},
    };
    return {{"berth", berth}};
}

std::string to_toml(const Config& config) {
    std::ostringstream out;
    out << toml::format(json_to_toml(to_json(config)));
    return out.str();
}

}  // namespace berth::config

namespace berth::config {

namespace {

void collect_changes(const nlohmann::ordered_json& before, const nlohmann::ordered_json& after,
                     const std::string& prefix, std::vector<std::string>& out) {
    if (before.is_object() && after.is_object()) {
        std::vector<std::string> keys;
        for (const auto& [key, value] : before.items()) {
            keys.push_back(key);
        }
        for (const auto& [key, value] : after.items()) {
            if (!before.contains(key)) {
                keys.push_back(key);
            }
        }
        for (const auto& key : keys) {
            const std::string path = prefix.empty() ? key : prefix + "." + key;
            static const nlohmann::ordered_json absent;
            collect_changes(before.contains(key) ? before[key] : absent,
                            after.contains(key) ? after[key] : absent, path, out);
        }
        return;
    }
    if (before != after) {
        out.push_back(prefix);
    }
}

}  // namespace

std::vector<std::string> changed_keys(const Config& before, const Config& after) {
    std::vector<std::string> keys;
    collect_changes(to_json(before), to_json(after), "", keys);
    return keys;
}

}  // namespace berth::config
