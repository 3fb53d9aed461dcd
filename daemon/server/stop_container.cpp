#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::StopContainer(grpc::ServerContext*,
                                              const v1::StopContainerRequest* request,
                                              v1::StopContainerResponse*) {
    return rpc_status("StopContainer", [&] {
        if (request->container_id().empty())
            throw invalid_argument("container id is empty");
        state_.containers().stop(request->container_id(), request->timeout());
    });
}

}  // namespace berth::daemon::server
