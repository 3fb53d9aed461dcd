// A gRPC server interceptor that reports the start and the end of every call
// to the IdleTrimmer, so that it trims only once the calls have stopped.
#pragma once

#include <memory>

#include <grpcpp/support/server_interceptor.h>

#include "memory/idle_trimmer.hpp"

namespace berth::daemon::memory {

class ActivityInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
public:
    explicit ActivityInterceptorFactory(IdleTrimmer& trimmer) : trimmer_(trimmer) {}
    grpc::experimental::Interceptor* CreateServerInterceptor(
        grpc::experimental::ServerRpcInfo* info) override;

private:
    IdleTrimmer& trimmer_;
};

}  // namespace berth::daemon::memory
