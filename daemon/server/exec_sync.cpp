#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

namespace {

// The reply must fit in one gRPC message: two full 16 MiB streams would not
// under the default 16 MiB limit. What does not fit is cut from the end of
// the larger stream, and stderr says so.
void fit_reply(std::string& out, std::string& err, std::size_t limit) {
    const std::string note_text = "\n[berth: output cut to fit the gRPC message size limit]\n";
    if (out.size() + err.size() <= limit)
        return;
    const std::size_t room = limit > note_text.size() ? limit - note_text.size() : 0;
    std::string& larger = out.size() >= err.size() ? out : err;
    const std::string& smaller = &larger == &out ? err : out;
    larger.resize(room > smaller.size() ? room - smaller.size() : 0);
    if (out.size() + err.size() > room)
        out.resize(room > err.size() ? room - err.size() : 0);
    err += note_text;
}

}  // namespace

grpc::Status CriRuntimeService::ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest* request,
                                         v1::ExecSyncResponse* response) {
    return rpc_status("ExecSync", [&] {
        const std::vector<std::string> command(request->cmd().begin(), request->cmd().end());
        auto result =
            state_.containers().exec_sync(request->container_id(), command, request->timeout());
        // Room for the message's own framing besides the two streams.
        const auto limit =
            static_cast<std::size_t>(state_.config().current()->api.grpc_max_send_msg_size) - 4096;
        fit_reply(result.stdout_data, result.stderr_data, limit);
        response->set_stdout(std::move(result.stdout_data));
        response->set_stderr(std::move(result.stderr_data));
        response->set_exit_code(result.exit_code);
    });
}

}  // namespace berth::daemon::server
