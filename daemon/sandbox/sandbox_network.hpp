// The CNI side of a pod sandbox: ADD when it runs, DEL when it stops.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/config/config.hpp"
#include "sandbox/sandbox.hpp"

namespace berth::daemon::sandbox {

struct NetworkAttachment {
    nlohmann::json cni_result;
    std::string ip;
    std::vector<std::string> additional_ips;
};

// The network list a new pod joins (the first valid one in network_dir).
// Throws FAILED_PRECONDITION when there is none.
nlohmann::json load_pod_network(const config::Config& config);

// Runs CNI ADD of record.cni_config for the sandbox's pinned network
// namespace, with its port mappings and DNS as capability arguments. Throws
// with the failing plugin's message; the caller undoes a failed ADD with
// detach_network, as for one that succeeded.
NetworkAttachment attach_network(const config::Config& config, const Sandbox& record);

// CNI DEL with the cached configuration and result; works when the namespace
// is already gone (after a reboot). Throws on a plugin failure.
void detach_network(const config::Config& config, const Sandbox& record);

}  // namespace berth::daemon::sandbox
