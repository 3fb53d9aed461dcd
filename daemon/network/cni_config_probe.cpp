#include "network/cni_config_probe.hpp"

#include "network/cni_invoke.hpp"

namespace berth::daemon::network {

CniProbeResult probe_cni_config(const std::string& network_dir) {
    CniProbeResult result;
    try {
        const auto network = load_cni_network(network_dir, &result.file);
        result.network_name = network["name"].get<std::string>();
        result.ready = true;
    } catch (const std::exception& error) {
        result.problem = error.what();
    }
    return result;
}

}  // namespace berth::daemon::network
