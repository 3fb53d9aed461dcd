// A bridge network of a test's own for pods with their own network
// namespace: a random /24 in 10.233.0.0/16, a bridge name that no other test
// run uses, and the real bridge, host-local, portmap and loopback plugins.
// The bridge is deleted when it goes out of scope.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "child_process.hpp"

namespace berth::test {

struct TestNetwork {
    int octet;
    std::string bridge;
    std::string subnet_prefix;  // "10.233.N."

    TestNetwork() {
        std::random_device random;
        octet = static_cast<int>(random() % 250) + 1;
        bridge = "bt" + std::to_string(getpid() % 100000) + "x" + std::to_string(octet);
        subnet_prefix = "10.233." + std::to_string(octet) + ".";
    }
    ~TestNetwork() { run_command("ip link delete " + bridge + " 2>/dev/null"); }
    TestNetwork(const TestNetwork&) = delete;
    TestNetwork& operator=(const TestNetwork&) = delete;

    // The network list, host-local keeping its leases in `ipam_dir`.
    std::string conflist(const std::string& ipam_dir) const {
        nlohmann::json list = {
            {"cniVersion", "1.0.0"},
            {"name", "berth-test"},
            {"plugins",
             {{{"type", "bridge"},
               {"bridge", bridge},
               {"isGateway", false},
               {"ipMasq", false},
               {"ipam",
                {{"type", "host-local"},
                 {"dataDir", ipam_dir},
                 {"ranges", {{{{"subnet", subnet_prefix + "0/24"}}}}}}}},
              {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}},
              {{"type", "loopback"}}}},
        };
        return list.dump(2);
    }

    // Addresses host-local has handed out (it keeps one file per address).
    int allocated_addresses(const std::string& ipam_dir) const {
        int count = 0;
        std::error_code error;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(ipam_dir, error)) {
            if (entry.path().filename().string().rfind(subnet_prefix, 0) == 0)
                ++count;
        }
        return count;
    }
};

}  // namespace berth::test
