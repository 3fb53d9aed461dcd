#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest* request,
                                         v1::ExecSyncResponse* response) {
    return rpc_status("ExecSync", [&] {
        const std::vector<std::string> command(request->cmd().begin(), request->cmd().end());
        auto result =
            state_.containers().exec_sync(request->container_id(), command, request->timeout());
        response->set_stdout(std::move(result.stdout_data));
        response->set_stderr(std::move(result.stderr_data));
        response->set_exit_code(result.exit_code);
    });
}

}  // namespace berth::daemon::server
