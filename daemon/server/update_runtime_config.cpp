#include <arpa/inet.h>

#include <spdlog/spdlog.h>

#include "server/runtime_service.hpp"

namespace berth::daemon::server {

namespace {

// "10.244.1.0/24" or "fd00::/64"; kubelet joins dual-stack CIDRs with ",".
bool valid_cidr(const std::string& cidr) {
    const auto slash = cidr.find('/');
    if (slash == std::string::npos || slash + 1 >= cidr.size()) {
        return false;
    }
    const std::string address = cidr.substr(0, slash);
    const std::string prefix = cidr.substr(slash + 1);
    if (prefix.size() > 3 || prefix.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    const int bits = std::stoi(prefix);
    unsigned char buffer[16];
    if (inet_pton(AF_INET, address.c_str(), buffer) == 1) {
        return bits <= 32;
    }
    return inet_pton(AF_INET6, address.c_str(), buffer) == 1 && bits <= 128;
}

}  // namespace

// Kubelet sends the node's pod CIDR here. CNI plugins take their ranges from
// their own configuration, so Berth records it (shown in Status verbose) and
// logs it rather than acting on it, as CRI-O does.
grpc::Status CriRuntimeService::UpdateRuntimeConfig(grpc::ServerContext*,
                                                    const v1::UpdateRuntimeConfigRequest* request,
                                                    v1::UpdateRuntimeConfigResponse*) {
    const auto& cidrs = request->runtime_config().network_config().pod_cidr();
    if (cidrs.empty()) {
        return grpc::Status::OK;
    }
    std::size_t start = 0;
    for (;;) {
        const auto comma = cidrs.find(',', start);
        const std::string cidr = cidrs.substr(start, comma - start);
        if (!valid_cidr(cidr)) {
            return {grpc::StatusCode::INVALID_ARGUMENT, "UpdateRuntimeConfig: pod_cidr \"" + cidrs +
                                                            "\": \"" + cidr +
                                                            "\" is not an IPv4 or IPv6 CIDR"};
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    if (cidrs != state_.pod_cidr()) {
        spdlog::info("UpdateRuntimeConfig: pod CIDR is now {}", cidrs);
        state_.set_pod_cidr(cidrs);
    }
    return grpc::Status::OK;
}

}  // namespace berth::daemon::server
