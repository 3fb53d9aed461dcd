// Finds the CNI network berthd would use: the first valid .conflist/.conf/.json
// in network_dir, in lexical order, as CRI-O and containerd pick it. Status
// reports NetworkReady from this.
#pragma once

#include <string>

namespace berth::daemon::network {

struct CniProbeResult {
    bool ready = false;
    std::string network_name;  // when ready
    std::string file;          // when ready
    std::string problem;       // when not ready: why, naming the directory
};

CniProbeResult probe_cni_config(const std::string& network_dir);

}  // namespace berth::daemon::network
