#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::RemoveContainer(grpc::ServerContext*,
                                                const v1::RemoveContainerRequest* request,
                                                v1::RemoveContainerResponse*) {
    return rpc_status("RemoveContainer", [&] {
        if (request->container_id().empty())
            throw invalid_argument("container id is empty");
        state_.containers().remove(request->container_id());
    });
}

}  // namespace berth::daemon::server
