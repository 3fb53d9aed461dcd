#include "server/container_conversion.hpp"
#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

namespace {
// Containers per streamed page, far below the gRPC message limit.
constexpr int kPageSize = 100;
}  // namespace

grpc::Status CriRuntimeService::StreamContainers(
    grpc::ServerContext*, const v1::StreamContainersRequest* request,
    grpc::ServerWriter<v1::StreamContainersResponse>* writer) {
    return rpc_status("StreamContainers", [&] {
        v1::StreamContainersResponse page;
        for (const auto& record : state_.containers().store().list()) {
            if (record->state == container::ContainerState::Creating ||
                !matches(*record, request->filter())) {
                continue;
            }
            fill_container(*record, page.add_containers());
            if (page.containers_size() == kPageSize) {
                writer->Write(page);
                page.Clear();
            }
        }
        if (page.containers_size() > 0)
            writer->Write(page);
    });
}

}  // namespace berth::daemon::server
