// Definitions for RPCs that are not built yet: an honest UNIMPLEMENTED status
// naming the RPC, never an empty success.
#pragma once

#include <string>

#include <grpcpp/grpcpp.h>

namespace berth::daemon::server {

grpc::Status not_implemented(const char* rpc);

}  // namespace berth::daemon::server

#define BERTH_NOT_IMPLEMENTED_UNARY(Service, Method, Request, Response)                     \
    grpc::Status Service::Method(grpc::ServerContext*, const v1::Request*, v1::Response*) { \
        return not_implemented(#Method);                                                    \
    }

#define BERTH_NOT_IMPLEMENTED_STREAM(Service, Method, Request, Response)   \
    grpc::Status Service::Method(grpc::ServerContext*, const v1::Request*, \
                                 grpc::ServerWriter<v1::Response>*) {      \
        return not_implemented(#Method);                                   \
    }
