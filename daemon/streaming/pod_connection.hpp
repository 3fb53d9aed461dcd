// Port forwarding's connection into a pod: TCP to localhost:<port> made from
// inside the pod's network namespace, as kubelet's own port forwarding does
// (so a server bound to 127.0.0.1 in the pod is reachable too).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "unique_fd.hpp"

namespace berth::daemon::streaming {

// `netns_path` is the pod's pinned namespace ("" for a host-network pod).
// IPv4 loopback first, then IPv6. Throws std::runtime_error with the reason
// (connection refused, timed out, namespace gone).
UniqueFd connect_in_pod(const std::string& netns_path, std::uint16_t port,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace berth::daemon::streaming
