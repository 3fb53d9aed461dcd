#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::UpdateContainerResources(
    grpc::ServerContext*, const v1::UpdateContainerResourcesRequest* request,
    v1::UpdateContainerResourcesResponse*) {
    return rpc_status("UpdateContainerResources", [&] {
        if (!request->has_linux())
            throw invalid_argument("no linux resources given");
        state_.containers().update_resources(request->container_id(), request->linux());
    });
}

}  // namespace berth::daemon::server
