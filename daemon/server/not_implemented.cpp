#include "server/not_implemented.hpp"

#include <spdlog/spdlog.h>

namespace berth::daemon::server {

grpc::Status not_implemented(const char* rpc) {
    spdlog::debug("{}: not implemented yet", rpc);
    return {grpc::StatusCode::UNIMPLEMENTED, std::string(rpc) + " is not implemented by berth yet"};
}

}  // namespace berth::daemon::server
