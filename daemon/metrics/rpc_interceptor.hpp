// A gRPC server interceptor that times every call and records it, with the
// status code it ended with, in RpcMetrics. Registered on berthd's
// ServerBuilder, so every service on the socket is measured alike.
#pragma once

#include <memory>
#include <vector>

#include <grpcpp/support/server_interceptor.h>

#include "metrics/rpc_metrics.hpp"

namespace berth::daemon::metrics {

class RpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
public:
    explicit RpcMetricsInterceptorFactory(RpcMetrics& metrics) : metrics_(metrics) {}
    grpc::experimental::Interceptor* CreateServerInterceptor(
        grpc::experimental::ServerRpcInfo* info) override;

private:
    RpcMetrics& metrics_;
};

// What grpc::ServerBuilder::experimental().SetInterceptorCreators takes.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
rpc_interceptors(RpcMetrics& metrics);

}  // namespace berth::daemon::metrics
