// Network counters of a pod, per interface, read inside its network
// namespace without starting a process: a short-lived thread joins the
// namespace (setns changes only the calling thread) and reads its own
// /proc/thread-self/net/dev.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace berth::daemon::stats {

struct InterfaceCounters {
    std::string name;
    std::uint64_t rx_bytes = 0;
    std::uint64_t rx_packets = 0;
    std::uint64_t rx_errors = 0;
    std::uint64_t rx_dropped = 0;
    std::uint64_t tx_bytes = 0;
    std::uint64_t tx_packets = 0;
    std::uint64_t tx_errors = 0;
    std::uint64_t tx_dropped = 0;
};

// The interfaces of a /proc/net/dev text, in its order; lines that do not
// parse are left out.
std::vector<InterfaceCounters> parse_net_dev(std::string_view text);

// Throws std::system_error when the namespace cannot be opened or joined or
// its counters cannot be read.
std::vector<InterfaceCounters> read_netns_interfaces(const std::string& netns_path);

}  // namespace berth::daemon::stats
