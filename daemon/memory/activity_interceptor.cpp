#include "memory/activity_interceptor.hpp"

namespace berth::daemon::memory {

namespace {

// One per call: created as the call arrives, destroyed when it is done.
class ActivityInterceptor final : public grpc::experimental::Interceptor {
public:
    explicit ActivityInterceptor(IdleTrimmer& trimmer) : trimmer_(trimmer) { trimmer_.activity(); }
    ~ActivityInterceptor() override { trimmer_.activity(); }

    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
        methods->Proceed();
    }

private:
    IdleTrimmer& trimmer_;
};

}  // namespace

grpc::experimental::Interceptor* ActivityInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo*) {
    return new ActivityInterceptor(trimmer_);
}

}  // namespace berth::daemon::memory
