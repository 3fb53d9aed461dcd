#include "metrics/rpc_interceptor.hpp"

#include <chrono>
#include <string>

namespace berth::daemon::metrics {

namespace {

// One per call: created as the call arrives, destroyed when it is done.
class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
public:
    RpcMetricsInterceptor(RpcMetrics& metrics, const char* method)
        : metrics_(metrics),
          method_(method != nullptr ? method : "unknown"),
          started_(std::chrono::steady_clock::now()) {}

    // A call that never sent a status was cancelled (the client went away
    // or the server shut down first); it is counted as such.
    ~RpcMetricsInterceptor() override {
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started_;
        try {
            metrics_.record(method_, code_, elapsed.count());
        } catch (...) {
            // Out of memory while counting: the call itself is long done.
        }
    }

    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
        if (methods->QueryInterceptionHookPoint(
                grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
            code_ = code_name(methods->GetSendStatus().error_code());
        }
        methods->Proceed();
    }

private:
    RpcMetrics& metrics_;
    std::string method_;
    std::string code_ = "CANCELLED";
    std::chrono::steady_clock::time_point started_;
};

}  // namespace

grpc::experimental::Interceptor* RpcMetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
    return new RpcMetricsInterceptor(metrics_, info->method());
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
rpc_interceptors(RpcMetrics& metrics) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(std::make_unique<RpcMetricsInterceptorFactory>(metrics));
    return creators;
}

}  // namespace berth::daemon::metrics
