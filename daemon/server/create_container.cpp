#include "server/caller.hpp"
#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::CreateContainer(grpc::ServerContext* context,
                                                const v1::CreateContainerRequest* request,
                                                v1::CreateContainerResponse* response) {
    return rpc_status("CreateContainer", [&] {
        response->set_container_id(state_.containers().create(*request, caller_of(*context)));
    });
}

}  // namespace berth::daemon::server
