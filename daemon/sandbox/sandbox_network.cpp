#include "sandbox/sandbox_network.hpp"

#include "network/cni_invoke.hpp"
#include "sandbox/sandbox_namespaces.hpp"
#include "status_error.hpp"

namespace berth::daemon::sandbox {

namespace v1 = runtime::v1;
using network::cni_add;
using network::cni_del;
using network::cni_result_ips;
using network::CniInvocation;
using network::load_cni_network;

namespace {

const char* protocol_name(v1::Protocol protocol) {
    switch (protocol) {
    case v1::UDP:
        return "udp";
    case v1::SCTP:
        return "sctp";
    default:
        return "tcp";
    }
}

CniInvocation invocation_for(const config::Config& config, const Sandbox& record) {
    const auto& metadata = record.config.metadata();
    CniInvocation invocation;
    invocation.container_id = record.id;
    invocation.netns = record.netns_path;
    invocation.plugin_dirs = config.network.plugin_dirs;
    invocation.args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + metadata.namespace_() +
                      ";K8S_POD_NAME=" + metadata.name() +
                      ";K8S_POD_INFRA_CONTAINER_ID=" + record.id + ";K8S_POD_UID=" + metadata.uid();
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& mapping : record.config.port_mappings()) {
        if (mapping.host_port() <= 0) {
            continue;  // only hostPorts need the portmap plugin
        }
        ports.push_back({{"hostPort", mapping.host_port()},
                         {"containerPort", mapping.container_port()},
                         {"protocol", protocol_name(mapping.protocol())},
                         {"hostIP", mapping.host_ip()}});
    }
    invocation.capability_args["portMappings"] = ports;
    const auto& dns = record.config.dns_config();
    invocation.capability_args["dns"] = {
        {"servers", std::vector<std::string>(dns.servers().begin(), dns.servers().end())},
        {"searches", std::vector<std::string>(dns.searches().begin(), dns.searches().end())},
        {"options", std::vector<std::string>(dns.options().begin(), dns.options().end())},
    };
    return invocation;
}

}  // namespace

nlohmann::json load_pod_network(const config::Config& config) {
    try {
        return load_cni_network(config.network.network_dir);
    } catch (const std::exception& error) {
        throw failed_precondition(std::string("network not ready: ") + error.what());
    }
}

NetworkAttachment attach_network(const config::Config& config, const Sandbox& record) {
    NetworkAttachment attachment;
    attachment.cni_result = cni_add(record.cni_config, invocation_for(config, record));
    auto ips = cni_result_ips(attachment.cni_result);
    if (!ips.empty()) {
        attachment.ip = ips.front();
        attachment.additional_ips.assign(ips.begin() + 1, ips.end());
    }
    return attachment;
}

void detach_network(const config::Config& config, const Sandbox& record) {
    auto invocation = invocation_for(config, record);
    // After a reboot the namespace is gone; plugins then clean up what they
    // can (addresses, port mappings) without it.
    if (!pod_namespace_pinned(record.netns_path, PodNamespace::Net)) {
        invocation.netns.clear();
    }
    cni_del(record.cni_config, record.cni_result, invocation);
}

}  // namespace berth::daemon::sandbox
