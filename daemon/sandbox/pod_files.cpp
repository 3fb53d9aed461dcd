#include "sandbox/pod_files.hpp"

#include <fstream>
#include <sstream>

namespace berth::daemon::sandbox {

namespace {

std::string joined_line(const char* keyword,
                        const google::protobuf::RepeatedPtrField<std::string>& items) {
    if (items.empty()) {
        return "";
    }
    std::string line = keyword;
    for (const auto& item : items) {
        line += " " + item;
    }
    return line + "\n";
}

}  // namespace

std::string resolv_conf_content(const runtime::v1::DNSConfig* dns,
                                const std::string& host_resolv_conf) {
    if (dns == nullptr ||
        (dns->servers().empty() && dns->searches().empty() && dns->options().empty())) {
        std::ifstream in(host_resolv_conf);
        std::stringstream content;
        content << in.rdbuf();
        return content.str();
    }
    std::string content = joined_line("search", dns->searches());
    for (const auto& server : dns->servers()) {
        content += "nameserver " + server + "\n";
    }
    content += joined_line("options", dns->options());
    return content;
}

std::string pod_hostname(const runtime::v1::PodSandboxConfig& config) {
    return config.hostname().empty() ? config.metadata().name() : config.hostname();
}

std::string hosts_content(const std::string& hostname, const std::string& ip) {
    std::string content =
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "fe00::0\tip6-mcastprefix\n"
        "fe00::1\tip6-allnodes\n"
        "fe00::2\tip6-allrouters\n";
    if (!ip.empty()) {
        content += ip + "\t" + hostname + "\n";
    }
    return content;
}

}  // namespace berth::daemon::sandbox
