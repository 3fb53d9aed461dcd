#include "server/runtime_service.hpp"
#include "stats/cri_stats.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

// A container that is not running still answers, with what is available
// (its writable layer; cpu and memory while its cgroup is there), as CRI-O
// does.
grpc::Status CriRuntimeService::ContainerStats(grpc::ServerContext*,
                                               const v1::ContainerStatsRequest* request,
                                               v1::ContainerStatsResponse* response) {
    return rpc_status("ContainerStats", [&] {
        const auto& store = state_.containers().store();
        const auto record = store.get(store.resolve(request->container_id()));
        if (!record || record->state == container::ContainerState::Creating) {
            throw not_found("container \"" + request->container_id() + "\" not found");
        }
        auto& collector = state_.stats();
        collector.forget_departed();
        *response->mutable_stats() =
            stats::to_cri_stats(*record, collector.sample_container(*record));
    });
}

}  // namespace berth::daemon::server
