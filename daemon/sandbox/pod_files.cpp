#include "sandbox/pod_files.hpp"

#include <unistd.h>

#include <cctype>
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
    return config.hostname().empty() ? node_hostname() : config.hostname();
}

std::string node_hostname() {
    char name[HOST_NAME_MAX + 1] = {};
    if (gethostname(name, sizeof(name) - 1) != 0) {
        return "";
    }
    return name;
}

std::string hostname_problem(const std::string& hostname) {
    constexpr std::size_t kLongest = 64;  // sethostname(2) fails beyond
    if (hostname.size() > kLongest) {
        return "is " + std::to_string(hostname.size()) + " bytes long, more than " +
               std::to_string(kLongest);
    }
    char previous = '.';
    for (const char c : hostname) {
        const bool alnum = std::isalnum(static_cast<unsigned char>(c)) != 0;
        if (!alnum && c != '-' && c != '.') {
            return "holds a character other than letters, digits, '-' and '.'";
        }
        if ((c == '.' && (previous == '.' || previous == '-')) || (c == '-' && previous == '.')) {
            return "holds an empty label or one that starts or ends with '-'";
        }
        previous = c;
    }
    if (!hostname.empty() && (previous == '-' || previous == '.')) {
        return "ends with '" + std::string(1, previous) + "'";
    }
    return "";
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
