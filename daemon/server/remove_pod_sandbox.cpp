#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::RemovePodSandbox(grpc::ServerContext*,
                                                 const v1::RemovePodSandboxRequest* request,
                                                 v1::RemovePodSandboxResponse*) {
    return rpc_status("RemovePodSandbox", [&] {
        // The pod's containers go first.
        const std::string id =
            state_.sandboxes().store().resolve_if_known(request->pod_sandbox_id());
        if (!id.empty())
            state_.containers().remove_all_in(id);
        state_.sandboxes().remove(request->pod_sandbox_id());
    });
}

}  // namespace berth::daemon::server
