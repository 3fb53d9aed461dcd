#include "server/caller.hpp"
#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::RunPodSandbox(grpc::ServerContext* context,
                                              const v1::RunPodSandboxRequest* request,
                                              v1::RunPodSandboxResponse* response) {
    return rpc_status("RunPodSandbox", [&] {
        response->set_pod_sandbox_id(state_.sandboxes().run(*request, caller_of(*context)));
    });
}

}  // namespace berth::daemon::server
