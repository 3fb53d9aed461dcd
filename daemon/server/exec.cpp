#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::Exec(grpc::ServerContext*, const v1::ExecRequest* request,
                                     v1::ExecResponse* response) {
    return rpc_status("Exec", [&] {
        if (request->cmd().empty() || request->cmd(0).empty())
            throw invalid_argument("no command given (cmd)");
        if (!request->stdin() && !request->stdout() && !request->stderr())
            throw invalid_argument("one of stdin, stdout and stderr must be true");
        // A terminal merges stderr into stdout: there is no second stream.
        if (request->tty() && request->stderr())
            throw invalid_argument("tty and stderr cannot both be true");
        streaming::StreamRequest stream;
        stream.kind = streaming::StreamKind::Exec;
        stream.container_id = state_.containers().running_container(request->container_id());
        stream.command.assign(request->cmd().begin(), request->cmd().end());
        stream.tty = request->tty();
        stream.stdin = request->stdin();
        stream.stdout = request->stdout();
        stream.stderr = request->stderr();
        response->set_url(state_.streaming().url_for(std::move(stream)));
    });
}

}  // namespace berth::daemon::server
