#include "server/runtime_service.hpp"
#include "stats/pod_metrics.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

namespace {
// Pods per streamed page; a pod's metrics are a few dozen per container.
constexpr int kPageSize = 20;
}  // namespace

grpc::Status CriRuntimeService::StreamPodSandboxMetrics(
    grpc::ServerContext* context, const v1::StreamPodSandboxMetricsRequest*,
    grpc::ServerWriter<v1::StreamPodSandboxMetricsResponse>* writer) {
    return rpc_status("StreamPodSandboxMetrics", [&] {
        auto& collector = state_.stats();
        collector.forget_departed();
        v1::StreamPodSandboxMetricsResponse page;
        for (const auto& record : state_.sandboxes().store().list()) {
            if (context->IsCancelled()) {
                return;
            }
            if (record->state != sandbox::SandboxState::Ready) {
                continue;
            }
            *page.add_pod_sandbox_metrics() =
                stats::to_cri_metrics(*record, collector.sample_pod(*record, {.details = true}));
            if (page.pod_sandbox_metrics_size() == kPageSize) {
                writer->Write(page);
                page.Clear();
            }
        }
        if (page.pod_sandbox_metrics_size() > 0) {
            writer->Write(page);
        }
    });
}

}  // namespace berth::daemon::server
