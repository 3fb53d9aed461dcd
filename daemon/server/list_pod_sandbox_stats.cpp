#include "server/runtime_service.hpp"
#include "server/stats_filters.hpp"
#include "stats/cri_stats.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::ListPodSandboxStats(grpc::ServerContext*,
                                                    const v1::ListPodSandboxStatsRequest* request,
                                                    v1::ListPodSandboxStatsResponse* response) {
    return rpc_status("ListPodSandboxStats", [&] {
        auto& collector = state_.stats();
        collector.forget_departed();
        for (const auto& record : stats_pods(state_.sandboxes().store(), request->filter())) {
            *response->add_stats() = stats::to_cri_stats(*record, collector.sample_pod(*record));
        }
    });
}

}  // namespace berth::daemon::server
