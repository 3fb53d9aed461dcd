#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::StopPodSandbox(grpc::ServerContext*,
                                               const v1::StopPodSandboxRequest* request,
                                               v1::StopPodSandboxResponse*) {
    return rpc_status("StopPodSandbox", [&] {
        // The pod's containers go first: they live in its namespaces.
        const std::string id =
            state_.sandboxes().store().resolve_if_known(request->pod_sandbox_id());
        if (!id.empty())
            state_.containers().stop_all_in(id);
        state_.sandboxes().stop(request->pod_sandbox_id());
    });
}

}  // namespace berth::daemon::server
