// The result of a CNI ADD, as plugins print it (CNI 0.1.0 to 1.0.0). The raw
// JSON is kept whole: it is what a runtime caches on disk and hands back to
// DEL and CHECK as prevResult, possibly after a daemon restart.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::daemon::network::cni {

struct Interface {
    std::string name;
    std::string mac;
    std::string sandbox;  // netns path; empty for interfaces on the host
};

struct IpConfig {
    std::string address;           // with prefix length, "10.88.0.5/16"
    std::string gateway;           // may be empty
    std::optional<int> interface;  // index into Result::interfaces

    bool is_ipv6() const { return address.find(':') != std::string::npos; }
    std::string ip() const { return address.substr(0, address.find('/')); }
    // -1 when the address has no "/N"
    int prefix_length() const;
};

struct Route {
    std::string dst;
    std::string gw;  // may be empty
};

struct Result {
    std::string cni_version;
    std::vector<Interface> interfaces;
    std::vector<IpConfig> ips;
    std::vector<Route> routes;
    nlohmann::json raw = nlohmann::json::object();

    // Accepts 1.0.0 (`ips` without `version`), 0.3.x/0.4.0 (`ips[].version`)
    // and 0.1.0/0.2.0 (`ip4`/`ip6`). Throws std::runtime_error saying what is
    // wrong when `json` is not a result.
    static Result from_json(const nlohmann::json& json);
    // The same from text, e.g. a plugin's stdout or a cached file.
    static Result parse(const std::string& text);
    const nlohmann::json& to_json() const { return raw; }

    // The addresses without prefix length, IPv4 first, as CRI reports them.
    std::vector<std::string> addresses() const;
};

}  // namespace berth::daemon::network::cni
