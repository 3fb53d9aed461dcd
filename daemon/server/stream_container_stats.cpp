#include "server/runtime_service.hpp"
#include "server/stats_filters.hpp"
#include "stats/cri_stats.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

namespace {
// Containers per streamed page: a page stays far below the gRPC message
// limit, and the first page leaves before the last container is sampled.
constexpr int kPageSize = 100;
}  // namespace

grpc::Status CriRuntimeService::StreamContainerStats(
    grpc::ServerContext* context, const v1::StreamContainerStatsRequest* request,
    grpc::ServerWriter<v1::StreamContainerStatsResponse>* writer) {
    return rpc_status("StreamContainerStats", [&] {
        auto& collector = state_.stats();
        collector.forget_departed();
        v1::StreamContainerStatsResponse page;
        for (const auto& record :
             stats_containers(state_.containers().store(), request->filter())) {
            if (context->IsCancelled()) {
                return;
            }
            *page.add_container_stats() =
                stats::to_cri_stats(*record, collector.sample_container(*record));
            if (page.container_stats_size() == kPageSize) {
                writer->Write(page);
                page.Clear();
            }
        }
        if (page.container_stats_size() > 0) {
            writer->Write(page);
        }
    });
}

}  // namespace berth::daemon::server
