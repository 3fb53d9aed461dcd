// Running the CNI plugins of a network list, as libcni does: ADD in order
// with each plugin's result handed to the next as prevResult, DEL in reverse
// order with the cached result, runtime capability arguments (portMappings,
// dns) given only to plugins that declare them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::daemon::network {

struct CniInvocation {
    std::string container_id;
    std::string netns;  // may be empty for DEL when the namespace is gone
    std::string ifname = "eth0";
    std::string args;                                           // CNI_ARGS, "K=V;K=V"
    nlohmann::json capability_args = nlohmann::json::object();  // name -> value
    std::vector<std::string> plugin_dirs;
    std::chrono::seconds timeout{60};
};

// The first valid network list in `dir` (.conflist, .conf, .json in lexical
// order; a single-plugin .conf becomes a one-plugin list), and its file in
// `file` when given. Throws std::runtime_error naming the directory when
// there is none.
nlohmann::json load_cni_network(const std::string& dir, std::string* file = nullptr);

// Returns the final result. Throws std::runtime_error naming the failing
// plugin and its message.
nlohmann::json cni_add(const nlohmann::json& network, const CniInvocation& invocation);
// Runs every plugin's DEL even after a failure; throws the first failure.
void cni_del(const nlohmann::json& network, const nlohmann::json& cached_result,
             const CniInvocation& invocation);

// The addresses of a result (CNI 0.4.0 or 1.0.0), without prefix length,
// IPv4 first.
std::vector<std::string> cni_result_ips(const nlohmann::json& result);

}  // namespace berth::daemon::network
