// The CNI side of a pod sandbox: ADD when it runs, DEL when it stops.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/config/config.hpp"
#include "sandbox/sandbox.hpp"

namespace berth::daemon::sandbox {

struct NetworkAttachment {
    std::string network_name;
    nlohmann::json cni_config;  // the network list used, for DEL later
    nlohmann::json cni_result;
    std::string ip;
    std::vector<std::string> additional_ips;
};

// Runs CNI ADD for the sandbox's pinned network namespace, with its port
// mappings and DNS as capability arguments. Throws StatusError (UNAVAILABLE
// when no network is configured, otherwise the plugin's message).
NetworkAttachment attach_network(const config::Config& config, const Sandbox& record);

// CNI DEL with the cached configuration and result; works when the namespace
// is already gone (after a reboot). Throws on a plugin failure.
void detach_network(const config::Config& config, const Sandbox& record);

}  // namespace berth::daemon::sandbox
