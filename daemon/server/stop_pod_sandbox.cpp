#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::StopPodSandbox(grpc::ServerContext*,
                                               const v1::StopPodSandboxRequest* request,
                                               v1::StopPodSandboxResponse*) {
    return rpc_status("StopPodSandbox",
                      [&] { state_.sandboxes().stop(request->pod_sandbox_id()); });
}

}  // namespace berth::daemon::server
