#include "server/runtime_service.hpp"
#include "server/sandbox_conversion.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::ListPodSandbox(grpc::ServerContext*,
                                               const v1::ListPodSandboxRequest* request,
                                               v1::ListPodSandboxResponse* response) {
    return rpc_status("ListPodSandbox", [&] {
        for (const auto& record : state_.sandboxes().store().list()) {
            if (record->state != sandbox::SandboxState::Creating &&
                matches(*record, request->filter())) {
                fill_pod_sandbox(*record, response->add_items());
            }
        }
    });
}

}  // namespace berth::daemon::server
