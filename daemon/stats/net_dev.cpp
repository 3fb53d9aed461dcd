#include "stats/net_dev.hpp"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <exception>
#include <sstream>
#include <system_error>
#include <thread>

#include "stats/cgroup_files.hpp"
#include "unique_fd.hpp"

namespace berth::daemon::stats {

std::vector<InterfaceCounters> parse_net_dev(std::string_view text) {
    std::vector<InterfaceCounters> interfaces;
    std::istringstream lines{std::string(text)};
    std::string line;
    while (std::getline(lines, line)) {
        // "  eth0: 1234 5 0 0 0 0 0 0 4321 6 0 0 0 0 0 0"; the two header
        // lines have a '|' and no ':' before it.
        const auto colon = line.find(':');
        if (colon == std::string::npos || line.find('|') != std::string::npos) {
            continue;
        }
        InterfaceCounters counters;
        std::istringstream name_part(line.substr(0, colon));
        name_part >> counters.name;
        std::istringstream values(line.substr(colon + 1));
        std::uint64_t fields[16];
        int read = 0;
        while (read < 16 && values >> fields[read]) {
            ++read;
        }
        if (counters.name.empty() || read != 16) {
            continue;
        }
        counters.rx_bytes = fields[0];
        counters.rx_packets = fields[1];
        counters.rx_errors = fields[2];
        counters.rx_dropped = fields[3];
        counters.tx_bytes = fields[8];
        counters.tx_packets = fields[9];
        counters.tx_errors = fields[10];
        counters.tx_dropped = fields[11];
        interfaces.push_back(std::move(counters));
    }
    return interfaces;
}

std::vector<InterfaceCounters> read_netns_interfaces(const std::string& netns_path) {
    std::vector<InterfaceCounters> interfaces;
    std::exception_ptr failure;
    std::thread reader([&] {
        try {
            UniqueFd netns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!netns) {
                throw std::system_error(errno, std::generic_category(), "open " + netns_path);
            }
            if (::setns(netns.get(), CLONE_NEWNET) != 0) {
                throw std::system_error(errno, std::generic_category(),
                                        "joining the network namespace " + netns_path);
            }
            // thread-self, not self: only this thread is in the pod's
            // namespace, and /proc/self/net shows the main thread's.
            const auto text = read_small_file("/proc/thread-self/net/dev", 1024 * 1024);
            if (!text) {
                throw std::system_error(errno, std::generic_category(),
                                        "reading the network counters of " + netns_path);
            }
            interfaces = parse_net_dev(*text);
        } catch (...) {
            failure = std::current_exception();
        }
    });
    reader.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
    return interfaces;
}

}  // namespace berth::daemon::stats
