#include "decode.hpp"

#include "table_reader.hpp"

namespace berth::config {

namespace {

void decode_api(TableReader& berth, ApiConfig& api, Origins& origins) {
    TableReader reader(berth.table("api"), berth.key_path("api"), origins);
    reader.read("listen", api.listen);
    reader.read("stream_address", api.stream_address);
    reader.read("stream_port", api.stream_port);
    reader.read("stream_enable_tls", api.stream_enable_tls);
    reader.read("stream_tls_cert", api.stream_tls_cert);
    reader.read("stream_tls_key", api.stream_tls_key);
    reader.read("grpc_max_send_msg_size", api.grpc_max_send_msg_size);
    reader.read("grpc_max_recv_msg_size", api.grpc_max_recv_msg_size);
    reader.read("events_queue_size", api.events_queue_size);
    reader.read("unclaimed_result_timeout", api.unclaimed_result_timeout);
    reader.reject_unknown_keys();
}

void decode_runtime_handler(TableReader& reader, RuntimeHandler& handler) {
    reader.read("runtime_path", handler.runtime_path);
    reader.read_choice("runtime_type", handler.runtime_type,
                       {{"oci", RuntimeType::Oci}, {"vm", RuntimeType::Vm}});
    reader.read("runtime_root", handler.runtime_root);
    reader.read("runtime_config_path", handler.runtime_config_path);
    reader.read("shim_timeout", handler.shim_timeout);
    reader.read("privileged_without_host_devices", handler.privileged_without_host_devices);
    reader.reject_unknown_keys();
}

void decode_runtime(TableReader& berth, RuntimeConfig& runtime, Origins& origins) {
    TableReader reader(berth.table("runtime"), berth.key_path("runtime"), origins);
    if (reader.read_string_if_present("default_runtime", runtime.default_runtime)) {
        runtime.default_runtime_chosen = true;
    }
    reader.read("conmon", runtime.conmon);
    reader.read_choice(
        "cgroup_manager", runtime.cgroup_manager,
        {{"cgroupfs", CgroupManager::Cgroupfs}, {"systemd", CgroupManager::Systemd}});
    reader.read("log_size_max", runtime.log_size_max);
    reader.read("default_capabilities", runtime.default_capabilities);
    reader.read("default_sysctls", runtime.default_sysctls);
    reader.read("pids_limit", runtime.pids_limit);
    reader.read("seccomp_use_default_when_empty", runtime.seccomp_use_default_when_empty);
    reader.read("cdi_spec_dirs", runtime.cdi_spec_dirs);
    const std::string runtimes_path = reader.key_path("runtimes");
    for (const auto& [name, table] : reader.tables_in("runtimes")) {
        // A table for a built-in handler refines it key by key; any other
        // name starts from an empty handler.
        TableReader handler_reader(table, runtimes_path + "." + name, origins);
        decode_runtime_handler(handler_reader, runtime.runtimes[name]);
    }
    reader.reject_unknown_keys();
}

void decode_image(TableReader& berth, ImageConfig& image, Origins& origins) {
    TableReader reader(berth.table("image"), berth.key_path("image"), origins);
    reader.read("default_transport", image.default_transport);
    reader.read("insecure_registries", image.insecure_registries);
    reader.read("mirrors", image.mirrors);
    reader.read("unqualified_search_registries", image.unqualified_search_registries);
    reader.read("pinned_images", image.pinned_images);
    reader.read_choice("image_volumes", image.image_volumes,
                       {{"mkdir", ImageVolumes::Mkdir},
                        {"bind", ImageVolumes::Bind},
                        {"ignore", ImageVolumes::Ignore}});
    reader.reject_unknown_keys();
}

void decode_network(TableReader& berth, NetworkConfig& network, Origins& origins) {
    TableReader reader(berth.table("network"), berth.key_path("network"), origins);
    reader.read("network_dir", network.network_dir);
    reader.read("plugin_dirs", network.plugin_dirs);
    reader.reject_unknown_keys();
}

void decode_metrics(TableReader& berth, MetricsConfig& metrics, Origins& origins) {
    TableReader reader(berth.table("metrics"), berth.key_path("metrics"), origins);
    reader.read("enable", metrics.enable);
    reader.read("address", metrics.address);
    reader.read("port", metrics.port);
    reader.reject_unknown_keys();
}

}  // namespace

void decode(const TomlValue& document, Config& config, Origins& origins) {
    TableReader top(&document, "", origins);
    TableReader berth(top.table("berth"), "berth", origins);
    berth.read("root", config.root);
    berth.read("runroot", config.runroot);
    berth.read("log_dir", config.log_dir);
    berth.read("log_level", config.log_level);
    berth.read_choice("log_target", config.log_target,
                      {{"stderr", LogTarget::Stderr}, {"journald", LogTarget::Journald}});
    decode_api(berth, config.api, origins);
    decode_runtime(berth, config.runtime, origins);
    decode_image(berth, config.image, origins);
    decode_network(berth, config.network, origins);
    decode_metrics(berth, config.metrics, origins);
    berth.reject_unknown_keys();
    top.reject_unknown_keys();
}

}  // namespace berth::config
