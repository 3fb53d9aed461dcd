#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::UpdatePodSandboxResources(
    grpc::ServerContext*, const v1::UpdatePodSandboxResourcesRequest* request,
    v1::UpdatePodSandboxResourcesResponse*) {
    return rpc_status("UpdatePodSandboxResources", [&] {
        if (!request->has_resources() && !request->has_overhead())
            throw invalid_argument("no resources given (resources, overhead)");
        state_.sandboxes().update_resources(request->pod_sandbox_id(), request->overhead(),
                                            request->resources());
    });
}

}  // namespace berth::daemon::server
