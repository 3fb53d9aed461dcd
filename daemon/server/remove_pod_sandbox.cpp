#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::RemovePodSandbox(grpc::ServerContext*,
                                                 const v1::RemovePodSandboxRequest* request,
                                                 v1::RemovePodSandboxResponse*) {
    return rpc_status("RemovePodSandbox", [&] {
        std::string id;
        try {
            id = state_.sandboxes().store().resolve(request->pod_sandbox_id());
        } catch (const StatusError& error) {
            if (error.code() != grpc::StatusCode::NOT_FOUND) throw;
        }
        if (!id.empty()) state_.containers().remove_all_in(id);
        state_.sandboxes().remove(request->pod_sandbox_id());
    });
}

}  // namespace berth::daemon::server
