#include "server/runtime_service.hpp"
#include "stats/cri_stats.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::PodSandboxStats(grpc::ServerContext*,
                                                const v1::PodSandboxStatsRequest* request,
                                                v1::PodSandboxStatsResponse* response) {
    return rpc_status("PodSandboxStats", [&] {
        const auto& store = state_.sandboxes().store();
        const auto record = store.get(store.resolve(request->pod_sandbox_id()));
        if (!record || record->state == sandbox::SandboxState::Creating) {
            throw not_found("pod sandbox \"" + request->pod_sandbox_id() + "\" not found");
        }
        auto& collector = state_.stats();
        collector.forget_departed();
        *response->mutable_stats() = stats::to_cri_stats(*record, collector.sample_pod(*record));
    });
}

}  // namespace berth::daemon::server
