#include "server/container_conversion.hpp"
#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::ListContainers(grpc::ServerContext*,
                                               const v1::ListContainersRequest* request,
                                               v1::ListContainersResponse* response) {
    return rpc_status("ListContainers", [&] {
        for (const auto& record : state_.containers().store().list()) {
            if (record->state != container::ContainerState::Creating &&
                matches(*record, request->filter())) {
                fill_container(*record, response->add_containers());
            }
        }
    });
}

}  // namespace berth::daemon::server
