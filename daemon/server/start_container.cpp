#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::StartContainer(grpc::ServerContext*,
                                               const v1::StartContainerRequest* request,
                                               v1::StartContainerResponse*) {
    return rpc_status("StartContainer",
                      [&] { state_.containers().start(request->container_id()); });
}

}  // namespace berth::daemon::server
