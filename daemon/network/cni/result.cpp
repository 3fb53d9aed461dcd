#include "network/cni/result.hpp"

#include <stdexcept>

namespace berth::daemon::network::cni {

namespace {

std::string string_field(const nlohmann::json& object, const char* key, const char* where) {
    if (!object.contains(key) || object[key].is_null()) {
        return {};
    }
    if (!object[key].is_string()) {
        throw std::runtime_error(std::string("invalid CNI result: ") + where + "." + key +
                                 " is not a string");
    }
    return object[key].get<std::string>();
}

void require_object(const nlohmann::json& value, const std::string& where) {
    if (!value.is_object()) {
        throw std::runtime_error("invalid CNI result: " + where + " is not an object");
    }
}

std::vector<Route> parse_routes(const nlohmann::json& parent, const char* where) {
    std::vector<Route> routes;
    if (!parent.contains("routes") || parent["routes"].is_null()) {
        return routes;
    }
    if (!parent["routes"].is_array()) {
        throw std::runtime_error(std::string("invalid CNI result: ") + where +
                                 ".routes is not an array");
    }
    for (const auto& entry : parent["routes"]) {
        require_object(entry, std::string(where) + ".routes[]");
        Route route{string_field(entry, "dst", "routes[]"), string_field(entry, "gw", "routes[]")};
        if (route.dst.empty()) {
            throw std::runtime_error("invalid CNI result: a route has no dst");
        }
        routes.push_back(std::move(route));
    }
    return routes;
}

// CNI 0.1.0/0.2.0: {"ip4": {"ip": "10.1.0.5/24", "gateway": ..., "routes": [...]}}
void parse_legacy_ip(const nlohmann::json& json, const char* key, Result& result) {
    if (!json.contains(key) || json[key].is_null()) {
        return;
    }
    require_object(json[key], key);
    IpConfig ip;
    ip.address = string_field(json[key], "ip", key);
    ip.gateway = string_field(json[key], "gateway", key);
    if (ip.address.empty()) {
        throw std::runtime_error(std::string("invalid CNI result: ") + key + " has no ip");
    }
    result.ips.push_back(std::move(ip));
    auto routes = parse_routes(json[key], key);
    result.routes.insert(result.routes.end(), routes.begin(), routes.end());
}

}  // namespace

int IpConfig::prefix_length() const {
    const auto slash = address.find('/');
    if (slash == std::string::npos) {
        return -1;
    }
    try {
        return std::stoi(address.substr(slash + 1));
    } catch (const std::exception&) {
        return -1;
    }
}

Result Result::from_json(const nlohmann::json& json) {
    require_object(json, "the result");
    Result result;
    result.raw = json;
    result.cni_version = string_field(json, "cniVersion", "result");

    if (json.contains("interfaces") && !json["interfaces"].is_null()) {
        if (!json["interfaces"].is_array()) {
            throw std::runtime_error("invalid CNI result: interfaces is not an array");
        }
        for (const auto& entry : json["interfaces"]) {
            require_object(entry, "interfaces[]");
            result.interfaces.push_back({string_field(entry, "name", "interfaces[]"),
                                         string_field(entry, "mac", "interfaces[]"),
                                         string_field(entry, "sandbox", "interfaces[]")});
        }
    }

    if (json.contains("ips") && !json["ips"].is_null()) {
        if (!json["ips"].is_array()) {
            throw std::runtime_error("invalid CNI result: ips is not an array");
        }
        for (const auto& entry : json["ips"]) {
            require_object(entry, "ips[]");
            IpConfig ip;
            ip.address = string_field(entry, "address", "ips[]");
            ip.gateway = string_field(entry, "gateway", "ips[]");
            if (ip.address.empty()) {
                throw std::runtime_error("invalid CNI result: an entry of ips has no address");
            }
            if (entry.contains("interface") && !entry["interface"].is_null()) {
                if (!entry["interface"].is_number_integer()) {
                    throw std::runtime_error(
                        "invalid CNI result: ips[].interface is not an integer");
                }
                const int index = entry["interface"].get<int>();
                if (index < 0 || static_cast<std::size_t>(index) >= result.interfaces.size()) {
                    throw std::runtime_error("invalid CNI result: ips[].interface " +
                                             std::to_string(index) + " names no interface");
                }
                ip.interface = index;
            }
            // 0.3.x/0.4.0 say "4" or "6"; it must agree with the address.
            if (entry.contains("version")) {
                const std::string version = string_field(entry, "version", "ips[]");
                if ((version == "4" && ip.is_ipv6()) || (version == "6" && !ip.is_ipv6()) ||
                    (version != "4" && version != "6")) {
                    throw std::runtime_error("invalid CNI result: address " + ip.address +
                                             " does not match version \"" + version + "\"");
                }
            }
            result.ips.push_back(std::move(ip));
        }
        result.routes = parse_routes(json, "result");
    } else {
        parse_legacy_ip(json, "ip4", result);
        parse_legacy_ip(json, "ip6", result);
        if (!json.contains("ip4") && !json.contains("ip6")) {
            result.routes = parse_routes(json, "result");
        }
    }
    return result;
}

Result Result::parse(const std::string& text) {
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded()) {
        throw std::runtime_error("invalid CNI result: not JSON");
    }
    return from_json(json);
}

std::vector<std::string> Result::addresses() const {
    std::vector<std::string> v4, v6;
    for (const auto& ip : ips) {
        (ip.is_ipv6() ? v6 : v4).push_back(ip.ip());
    }
    v4.insert(v4.end(), v6.begin(), v6.end());
    return v4;
}

}  // namespace berth::daemon::network::cni
