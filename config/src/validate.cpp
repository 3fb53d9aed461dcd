#include "validate.hpp"

#include <sys/capability.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "find_executable.hpp"

namespace berth::config {

namespace {

constexpr std::array kLogLevels = {"trace",   "debug", "info",  "warn",
                                   "warning", "error", "fatal", "off"};

void require_absolute(const Origins& origins, const std::string& key, const std::string& path) {
    if (path.empty()) {
        origins.fail(key, "must not be empty");
    }
    if (path.front() != '/') {
        origins.fail(key, "must be an absolute path, not \"" + path + "\"");
    }
}

void require_range(const Origins& origins, const std::string& key, std::int64_t value,
                   std::int64_t low, std::int64_t high) {
    if (value < low || value > high) {
        origins.fail(key, "must be between " + std::to_string(low) + " and " +
                              std::to_string(high) + ", not " + std::to_string(value));
    }
}

// "chown", "CHOWN" and "CAP_CHOWN" all name the same capability; OCI specs
// want the last form. libcap knows which names this kernel's headers define.
std::string normalise_capability(const Origins& origins, const std::string& key,
                                 const std::string& name) {
    std::string upper;
    for (char c : name) {
        upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (upper.rfind("CAP_", 0) != 0) {
        upper = "CAP_" + upper;
    }
    cap_value_t value;
    if (cap_from_name(upper.c_str(), &value) != 0) {
        origins.fail(key, "unknown capability \"" + name + "\"");
    }
    return upper;
}

void validate_sysctl(const Origins& origins, const std::string& key, const std::string& entry) {
    auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
        origins.fail(key, "\"" + entry + "\" is not of the form name=value");
    }
}

void validate_registry_host(const Origins& origins, const std::string& key,
                            const std::string& host) {
    if (host.empty()) {
        origins.fail(key, "a registry must not be empty");
    }
    if (host.find("://") != std::string::npos || host.find('/') != std::string::npos) {
        origins.fail(key, "\"" + host + "\" must be a host[:port], without scheme or path");
    }
}

void validate_endpoint(const Origins& origins, const std::string& key, const std::string& url) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        origins.fail(key, "mirror \"" + url + "\" must start with http:// or https://");
    }
}

void validate_runtimes(Config& config, const Origins& origins) {
    auto& runtime = config.runtime;
    for (auto& [name, handler] : runtime.runtimes) {
        const std::string base = "berth.runtime.runtimes." + name;
        if (name.empty()) {
            origins.fail(base, "a runtime handler needs a name");
        }
        if (handler.runtime_path.empty()) {
            // Like CRI-O: a handler without a path runs the binary of its name.
            handler.runtime_path = find_executable(name);
            if (handler.runtime_path.empty()) {
                origins.fail(base + ".runtime_path",
                             "not set, and no executable \"" + name + "\" found in PATH");
            }
        }
        require_absolute(origins, base + ".runtime_path", handler.runtime_path);
        if (handler.runtime_root.empty()) {
            // Short on purpose: runc and crun bind unix sockets at
            // <root>/<64-hex id>/notify/notify.sock, and a socket path has
            // at most 107 characters.
            handler.runtime_root = config.runroot + "/oci/" + name;
        }
        require_absolute(origins, base + ".runtime_root", handler.runtime_root);
        if (!handler.runtime_config_path.empty()) {
            require_absolute(origins, base + ".runtime_config_path", handler.runtime_config_path);
        }
        if (handler.shim_timeout <= 0) {
            origins.fail(base + ".shim_timeout", "must be a positive number of seconds");
        }
    }
    if (runtime.default_runtime.empty()) {
        origins.fail("berth.runtime.default_runtime", "must not be empty");
    }
    if (runtime.runtimes.count(runtime.default_runtime) == 0) {
        std::string known;
        for (const auto& entry : runtime.runtimes) {
            known += known.empty() ? "" : ", ";
            known += entry.first;
        }
        origins.fail("berth.runtime.default_runtime",
                     "\"" + runtime.default_runtime +
                         "\" names no [berth.runtime.runtimes.*] table (configured: " +
                         (known.empty() ? "none" : known) + ")");
    }
}

}  // namespace

void validate_and_resolve(Config& config, const Origins& origins) {
    require_absolute(origins, "berth.root", config.root);
    require_absolute(origins, "berth.runroot", config.runroot);
    require_absolute(origins, "berth.log_dir", config.log_dir);
    if (std::find(kLogLevels.begin(), kLogLevels.end(), std::string_view(config.log_level)) ==
        kLogLevels.end()) {
        origins.fail("berth.log_level",
                     "must be one of trace, debug, info, warn, error, fatal, off, not \"" +
                         config.log_level + "\"");
    }

    auto& api = config.api;
    if (api.listen.empty()) {
        api.listen = config.runroot + "/berth.sock";
    }
    require_absolute(origins, "berth.api.listen", api.listen);
    if (api.stream_address.empty()) {
        origins.fail("berth.api.stream_address", "must not be empty");
    }
    require_range(origins, "berth.api.stream_port", api.stream_port, 0, 65535);
    if (api.stream_enable_tls) {
        require_absolute(origins, "berth.api.stream_tls_cert", api.stream_tls_cert);
        require_absolute(origins, "berth.api.stream_tls_key", api.stream_tls_key);
    }
    require_range(origins, "berth.api.grpc_max_send_msg_size", api.grpc_max_send_msg_size, 1,
                  INT32_MAX);
    require_range(origins, "berth.api.grpc_max_recv_msg_size", api.grpc_max_recv_msg_size, 1,
                  INT32_MAX);
    require_range(origins, "berth.api.events_queue_size", api.events_queue_size, 1, 1000000);
    require_range(origins, "berth.api.unclaimed_result_timeout", api.unclaimed_result_timeout, 1,
                  86400);

    auto& runtime = config.runtime;
    if (!runtime.conmon.empty()) {
        require_absolute(origins, "berth.runtime.conmon", runtime.conmon);
    }
    // CRI-O's rule: no limit, or at least 8 KiB so that a line always fits.
    if (runtime.log_size_max != -1 && runtime.log_size_max < 8192) {
        origins.fail("berth.runtime.log_size_max", "must be -1 (unlimited) or at least 8192, not " +
                                                       std::to_string(runtime.log_size_max));
    }
    if (runtime.pids_limit != -1 && runtime.pids_limit < 1) {
        origins.fail("berth.runtime.pids_limit", "must be -1 (unlimited) or positive, not " +
                                                     std::to_string(runtime.pids_limit));
    }
    for (auto& capability : runtime.default_capabilities) {
        capability =
            normalise_capability(origins, "berth.runtime.default_capabilities", capability);
    }
    for (const auto& sysctl : runtime.default_sysctls) {
        validate_sysctl(origins, "berth.runtime.default_sysctls", sysctl);
    }
    for (const auto& dir : runtime.cdi_spec_dirs) {
        require_absolute(origins, "berth.runtime.cdi_spec_dirs", dir);
    }
    validate_runtimes(config, origins);

    auto& image = config.image;
    const std::string_view transport = image.default_transport;
    if (transport.size() < 4 || transport.substr(transport.size() - 3) != "://") {
        origins.fail("berth.image.default_transport",
                     "must look like \"docker://\", not \"" + image.default_transport + "\"");
    }
    for (const auto& host : image.insecure_registries) {
        validate_registry_host(origins, "berth.image.insecure_registries", host);
    }
    for (const auto& [host, endpoints] : image.mirrors) {
        const std::string key = "berth.image.mirrors." + host;
        validate_registry_host(origins, key, host);
        for (const auto& url : endpoints) {
            validate_endpoint(origins, key, url);
        }
    }
    for (const auto& host : image.unqualified_search_registries) {
        validate_registry_host(origins, "berth.image.unqualified_search_registries", host);
    }
    for (const auto& pattern : image.pinned_images) {
        // '*' only at the ends: "name", "prefix*" or "*keyword*".
        const auto star = pattern.find('*', 1);
        const bool well_formed = !pattern.empty() && pattern != "*" && pattern != "**" &&
                                 (star == std::string::npos || star == pattern.size() - 1) &&
                                 (pattern.front() != '*' || pattern.back() == '*');
        if (!well_formed) {
            origins.fail("berth.image.pinned_images",
                         "\"" + pattern + "\" must be a name, \"prefix*\" or \"*keyword*\"");
        }
    }

    require_absolute(origins, "berth.network.network_dir", config.network.network_dir);
    for (const auto& dir : config.network.plugin_dirs) {
        require_absolute(origins, "berth.network.plugin_dirs", dir);
    }

    if (config.metrics.address.empty()) {
        origins.fail("berth.metrics.address", "must not be empty");
    }
    require_range(origins, "berth.metrics.port", config.metrics.port, 1, 65535);
}

}  // namespace berth::config
