#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::Attach(grpc::ServerContext*, const v1::AttachRequest* request,
                                       v1::AttachResponse* response) {
    return rpc_status("Attach", [&] {
        if (!request->stdin() && !request->stdout() && !request->stderr())
            throw invalid_argument("one of stdin, stdout and stderr must be true");
        if (request->tty() && request->stderr())
            throw invalid_argument("tty and stderr cannot both be true");
        streaming::StreamRequest stream;
        stream.kind = streaming::StreamKind::Attach;
        stream.container_id = state_.containers().running_container(request->container_id());
        const auto record = state_.containers().store().get(stream.container_id);
        if (request->stdin() && !record->config.stdin()) {
            throw failed_precondition("container " + stream.container_id +
                                      " was not created with stdin: nothing to attach input to");
        }
        stream.tty = request->tty();
        stream.stdin = request->stdin();
        stream.stdout = request->stdout();
        stream.stderr = request->stderr();
        response->set_url(state_.streaming().url_for(std::move(stream)));
    });
}

}  // namespace berth::daemon::server
