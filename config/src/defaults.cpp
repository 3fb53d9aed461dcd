#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "berth/config/config.hpp"
#include "find_executable.hpp"

namespace berth::config {

namespace {

void add_runtime_if_installed(Config& config, const std::string& name) {
    std::string path = find_executable(name);
    if (path.empty()) {
        return;
    }
    RuntimeHandler handler;
    handler.runtime_path = path;
    handler.runtime_type = RuntimeType::Oci;
    config.runtime.runtimes.emplace(name, handler);
}

}  // namespace

Config default_config() {
    Config config;
    // The same set CRI-O grants by default: enough for ordinary images, nothing
    // that lets a container reach outside its namespaces.
    config.runtime.default_capabilities = {
        "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_KILL",
    };
    // The CDI defaults: static specs under /etc, generated ones under /var/run.
    config.runtime.cdi_spec_dirs = {"/etc/cdi", "/var/run/cdi"};
    config.image.unqualified_search_registries = {"docker.io"};
    config.network.plugin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
    add_runtime_if_installed(config, "runc");
    add_runtime_if_installed(config, "crun");
    // crun starts and execs containers in a fraction of runc's time (its
    // figures in docs/benchmarks.md); CRI-O made the same choice.
    if (config.runtime.runtimes.count("crun") != 0) {
        config.runtime.default_runtime = "crun";
    }
    return config;
}

const char* to_string(RuntimeType type) {
    return type == RuntimeType::Vm ? "vm" : "oci";
}

const char* to_string(CgroupManager manager) {
    return manager == CgroupManager::Systemd ? "systemd" : "cgroupfs";
}

const char* to_string(LogTarget target) {
    return target == LogTarget::Journald ? "journald" : "stderr";
}

const char* to_string(ImageVolumes mode) {
    switch (mode) {
    case ImageVolumes::Bind:
        return "bind";
    case ImageVolumes::Ignore:
        return "ignore";
    case ImageVolumes::Mkdir:
        break;
    }
    return "mkdir";
}

}  // namespace berth::config
