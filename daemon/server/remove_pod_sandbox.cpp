#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::RemovePodSandbox(grpc::ServerContext*,
                                                 const v1::RemovePodSandboxRequest* request,
                                                 v1::RemovePodSandboxResponse*) {
    return rpc_status("RemovePodSandbox",
                      [&] { state_.sandboxes().remove(request->pod_sandbox_id()); });
}

}  // namespace berth::daemon::server
