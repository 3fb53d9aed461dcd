#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::CheckpointContainer(grpc::ServerContext*,
                                                    const v1::CheckpointContainerRequest* request,
                                                    v1::CheckpointContainerResponse*) {
    return rpc_status("CheckpointContainer", [&] {
        if (request->timeout() < 0)
            throw invalid_argument("timeout must not be negative");
        state_.containers().checkpoint(request->container_id(), request->location(),
                                       request->timeout());
    });
}

}  // namespace berth::daemon::server
