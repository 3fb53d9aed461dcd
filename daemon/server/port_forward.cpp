#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::PortForward(grpc::ServerContext*,
                                            const v1::PortForwardRequest* request,
                                            v1::PortForwardResponse* response) {
    return rpc_status("PortForward", [&] {
        streaming::StreamRequest stream;
        stream.kind = streaming::StreamKind::PortForward;
        const auto& pods = state_.sandboxes().store();
        const std::string pod_id = pods.resolve(request->pod_sandbox_id());
        const auto pod = pods.get(pod_id);
        if (!pod || pod->state != sandbox::SandboxState::Ready)
            throw failed_precondition("pod sandbox " + pod_id + " is not ready");
        for (const auto port : request->port()) {
            if (port <= 0 || port > 65535)
                throw invalid_argument("port " + std::to_string(port) + " is out of range");
            stream.ports.push_back(port);
        }
        stream.sandbox_id = pod_id;
        response->set_url(state_.streaming().url_for(std::move(stream)));
    });
}

}  // namespace berth::daemon::server
