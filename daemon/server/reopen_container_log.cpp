#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::ReopenContainerLog(grpc::ServerContext*,
                                                   const v1::ReopenContainerLogRequest* request,
                                                   v1::ReopenContainerLogResponse*) {
    return rpc_status("ReopenContainerLog",
                      [&] { state_.containers().reopen_log(request->container_id()); });
}

}  // namespace berth::daemon::server
