#include "berth/config/serialize.hpp"
#include "network/cni_config_probe.hpp"
#include "sandbox/user_namespace_support.hpp"
#include "server/runtime_service.hpp"

namespace berth::daemon::server {

namespace {

void add_condition(v1::RuntimeStatus* status, const char* type, bool ok, const std::string& reason,
                   const std::string& message) {
    auto* condition = status->add_conditions();
    condition->set_type(type);
    condition->set_status(ok);
    condition->set_reason(reason);
    condition->set_message(message);
}

}  // namespace

grpc::Status CriRuntimeService::Status(grpc::ServerContext*, const v1::StatusRequest* request,
                                       v1::StatusResponse* response) {
    const auto config = state_.config().current();
    const auto& handlers = state_.handlers();
    auto* status = response->mutable_status();

    // The runtime is ready when the default handler's binary can be run; a
    // broken extra handler fails only the pods that ask for it.
    std::string runtime_problem;
    for (const auto& problem : handlers.check_binaries()) {
        if (problem.handler == handlers.default_name()) {
            runtime_problem =
                "default runtime handler \"" + problem.handler + "\": " + problem.message;
        }
    }
    if (runtime_problem.empty()) {
        add_condition(status, "RuntimeReady", true, "", "");
    } else {
        add_condition(status, "RuntimeReady", false, "RuntimeBinaryMissing", runtime_problem);
    }

    const auto network = network::probe_cni_config(config->network.network_dir);
    if (network.ready) {
        add_condition(status, "NetworkReady", true, "", "");
    } else {
        add_condition(status, "NetworkReady", false, "NetworkPluginNotReady",
                      "Network plugin returns error: " + network.problem);
    }

    // Kubelet reads the handler list to learn which names pods may use, and
    // each handler's features to learn whether it may ask for recursive
    // read-only mounts and user namespaces; the default handler is also
    // reported under "", as containerd does.
    const auto add_handler = [&](const std::string& reported_name, const std::string& name) {
        auto* handler = response->add_runtime_handlers();
        handler->set_name(reported_name);
        auto* features = handler->mutable_features();
        if (auto* runtime = state_.runtimes().find(name)) {
            const auto supported = runtime->features();
            features->set_recursive_read_only_mounts(supported.recursive_read_only_mounts);
            features->set_user_namespaces(
                sandbox::user_namespace_problem(runtime, config->root + "/storage").empty());
        }
    };
    add_handler("", handlers.default_name());
    for (const auto& name : handlers.names()) {
        add_handler(name, name);
    }
    // Containers get exactly the supplementary groups their security
    // context's policy says (Merge or Strict), and ContainerStatus reports
    // the ones the process has.
    response->mutable_features()->set_supplemental_groups_policy(true);

    if (request->verbose()) {
        (*response->mutable_info())["config"] = config::to_json(*config).dump();
        if (network.ready) {
            (*response->mutable_info())["cniNetwork"] =
                nlohmann::json{{"name", network.network_name}, {"file", network.file}}.dump();
        }
        if (state_.streaming().running())
            (*response->mutable_info())["streamingURL"] = state_.streaming().base_url();
        const auto cidr = state_.pod_cidr();
        if (!cidr.empty()) {
            (*response->mutable_info())["podCIDR"] = cidr;
        }
    }
    return grpc::Status::OK;
}

}  // namespace berth::daemon::server
