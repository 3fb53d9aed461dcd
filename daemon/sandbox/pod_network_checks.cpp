#include "sandbox/pod_network_checks.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

#include "status_error.hpp"

namespace berth::daemon::sandbox {

namespace {

namespace v1 = runtime::v1;

bool is_ip_address(const std::string& text) {
    unsigned char address[sizeof(in6_addr)];
    return inet_pton(AF_INET, text.c_str(), address) == 1 ||
           inet_pton(AF_INET6, text.c_str(), address) == 1;
}

// One resolv.conf word: something a resolver reads as a single token.
bool is_resolver_word(const std::string& text) {
    constexpr std::size_t kLongest = 255;
    return !text.empty() && text.size() <= kLongest &&
           std::none_of(text.begin(), text.end(), [](const char c) {
               const auto byte = static_cast<unsigned char>(c);
               return byte <= 0x20 || byte == 0x7f;
           });
}

std::string indexed(const char* field, int index) {
    return std::string(field) + "[" + std::to_string(index) + "]";
}

}  // namespace

void check_dns_config(const v1::DNSConfig& dns) {
    for (int i = 0; i < dns.servers_size(); ++i) {
        if (!is_ip_address(dns.servers(i))) {
            throw invalid_argument(indexed("config.dns_config.servers", i) + " " +
                                   quoted_value(dns.servers(i)) + " is not an IP address");
        }
    }
    for (int i = 0; i < dns.searches_size(); ++i) {
        if (!is_resolver_word(dns.searches(i))) {
            throw invalid_argument(indexed("config.dns_config.searches", i) + " " +
                                   quoted_value(dns.searches(i)) +
                                   " is not one domain (1 to 255 bytes, no spaces or control "
                                   "characters)");
        }
    }
    for (int i = 0; i < dns.options_size(); ++i) {
        if (!is_resolver_word(dns.options(i))) {
            throw invalid_argument(indexed("config.dns_config.options", i) + " " +
                                   quoted_value(dns.options(i)) +
                                   " is not one resolver option (1 to 255 bytes, no spaces or "
                                   "control characters)");
        }
    }
}

void check_port_mappings(const v1::PodSandboxConfig& config) {
    for (int i = 0; i < config.port_mappings_size(); ++i) {
        const auto& mapping = config.port_mappings(i);
        const std::string field = indexed("config.port_mappings", i);
        if (mapping.container_port() < 1 || mapping.container_port() > 65535) {
            throw invalid_argument(field + ".container_port " +
                                   std::to_string(mapping.container_port()) +
                                   " is not between 1 and 65535");
        }
        if (mapping.host_port() < 0 || mapping.host_port() > 65535) {
            throw invalid_argument(field + ".host_port " + std::to_string(mapping.host_port()) +
                                   " is not between 0 (none) and 65535");
        }
        if (!v1::Protocol_IsValid(mapping.protocol())) {
            throw invalid_argument(field + ".protocol " + std::to_string(mapping.protocol()) +
                                   " is not TCP, UDP or SCTP");
        }
        if (!mapping.host_ip().empty() && !is_ip_address(mapping.host_ip())) {
            throw invalid_argument(field + ".host_ip " + quoted_value(mapping.host_ip()) +
                                   " is not an IP address");
        }
    }
}

void check_cni_args_metadata(const v1::PodSandboxConfig& config) {
    const auto& metadata = config.metadata();
    for (const auto& [field, value] :
         {std::pair{"config.metadata.name", &metadata.name()},
          std::pair{"config.metadata.namespace", &metadata.namespace_()},
          std::pair{"config.metadata.uid", &metadata.uid()}}) {
        if (value->find_first_of(";=") != std::string::npos) {
            throw invalid_argument(std::string(field) + " " + quoted_value(*value) +
                                   " holds ';' or '=', which would split its CNI_ARGS entry");
        }
    }
}

}  // namespace berth::daemon::sandbox
