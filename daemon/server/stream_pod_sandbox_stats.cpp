#include "server/runtime_service.hpp"
#include "server/stats_filters.hpp"
#include "stats/cri_stats.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

namespace {
// Pods per streamed page; each carries its containers' stats too.
constexpr int kPageSize = 50;
}  // namespace

grpc::Status CriRuntimeService::StreamPodSandboxStats(
    grpc::ServerContext* context, const v1::StreamPodSandboxStatsRequest* request,
    grpc::ServerWriter<v1::StreamPodSandboxStatsResponse>* writer) {
    return rpc_status("StreamPodSandboxStats", [&] {
        auto& collector = state_.stats();
        collector.forget_departed();
        v1::StreamPodSandboxStatsResponse page;
        for (const auto& record : stats_pods(state_.sandboxes().store(), request->filter())) {
            if (context->IsCancelled()) {
                return;
            }
            *page.add_pod_sandbox_stats() =
                stats::to_cri_stats(*record, collector.sample_pod(*record));
            if (page.pod_sandbox_stats_size() == kPageSize) {
                writer->Write(page);
                page.Clear();
            }
        }
        if (page.pod_sandbox_stats_size() > 0) {
            writer->Write(page);
        }
    });
}

}  // namespace berth::daemon::server
