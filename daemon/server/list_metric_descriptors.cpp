#include "server/runtime_service.hpp"
#include "stats/metric_descriptors.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::ListMetricDescriptors(grpc::ServerContext*,
                                                      const v1::ListMetricDescriptorsRequest*,
                                                      v1::ListMetricDescriptorsResponse* response) {
    return rpc_status("ListMetricDescriptors", [&] {
        for (auto& descriptor : stats::metric_descriptors()) {
            *response->add_descriptors() = std::move(descriptor);
        }
    });
}

}  // namespace berth::daemon::server
