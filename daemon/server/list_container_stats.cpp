#include "server/runtime_service.hpp"
#include "server/stats_filters.hpp"
#include "stats/cri_stats.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::ListContainerStats(grpc::ServerContext*,
                                                   const v1::ListContainerStatsRequest* request,
                                                   v1::ListContainerStatsResponse* response) {
    return rpc_status("ListContainerStats", [&] {
        auto& collector = state_.stats();
        collector.forget_departed();
        for (const auto& record :
             stats_containers(state_.containers().store(), request->filter())) {
            *response->add_stats() =
                stats::to_cri_stats(*record, collector.sample_container(*record));
        }
    });
}

}  // namespace berth::daemon::server
