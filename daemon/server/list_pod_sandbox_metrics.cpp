#include "server/runtime_service.hpp"
#include "stats/pod_metrics.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

// Ready pods only: a stopped pod has no processes left to measure.
grpc::Status CriRuntimeService::ListPodSandboxMetrics(grpc::ServerContext*,
                                                      const v1::ListPodSandboxMetricsRequest*,
                                                      v1::ListPodSandboxMetricsResponse* response) {
    return rpc_status("ListPodSandboxMetrics", [&] {
        auto& collector = state_.stats();
        collector.forget_departed();
        for (const auto& record : state_.sandboxes().store().list()) {
            if (record->state == sandbox::SandboxState::Ready) {
                *response->add_pod_metrics() = stats::to_cri_metrics(
                    *record, collector.sample_pod(*record, {.details = true}));
            }
        }
    });
}

}  // namespace berth::daemon::server
