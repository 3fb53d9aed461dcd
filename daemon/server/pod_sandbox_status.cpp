#include <chrono>

#include "server/runtime_service.hpp"
#include "server/sandbox_conversion.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::PodSandboxStatus(grpc::ServerContext*,
                                                 const v1::PodSandboxStatusRequest* request,
                                                 v1::PodSandboxStatusResponse* response) {
    return rpc_status("PodSandboxStatus", [&] {
        const auto& store = state_.sandboxes().store();
        auto record = store.get(store.resolve(request->pod_sandbox_id()));
        if (!record || record->state == sandbox::SandboxState::Creating) {
            throw not_found("pod sandbox \"" + request->pod_sandbox_id() + "\" not found");
        }
        fill_pod_sandbox_status(*record, response->mutable_status());
        // Evented PLEG compares this with its own clock.
        response->set_timestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
        if (request->verbose()) {
            nlohmann::json info = {
                {"netns", record->netns_path},
                {"ipcns", record->ipcns_path},
                {"utsns", record->utsns_path},
                {"pidns", record->pidns_path},
                {"userns", record->userns_path},
                {"initPid", record->init_pid},
                {"shm", record->shm_path},
                {"resolvConf", record->resolv_conf_path},
                {"hostnameFile", record->hostname_path},
                {"hostsFile", record->hosts_path},
                {"network", record->network_name},
                {"cniResult", record->cni_result},
                {"cgroupParent", record->cgroup_parent},
                {"cgroup", record->cgroup_path},
            };
            (*response->mutable_info())["info"] = info.dump();
        }
    });
}

}  // namespace berth::daemon::server
