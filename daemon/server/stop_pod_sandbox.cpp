#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::StopPodSandbox(grpc::ServerContext*,
                                               const v1::StopPodSandboxRequest* request,
                                               v1::StopPodSandboxResponse*) {
    return rpc_status("StopPodSandbox", [&] {
        // The pod's containers go first: they live in its namespaces.
        std::string id;
        try {
            id = state_.sandboxes().store().resolve(request->pod_sandbox_id());
        } catch (const StatusError& error) {
            if (error.code() != grpc::StatusCode::NOT_FOUND) throw;
        }
        if (!id.empty()) state_.containers().stop_all_in(id);
        state_.sandboxes().stop(request->pod_sandbox_id());
    });
}

}  // namespace berth::daemon::server
