#include "server/runtime_service.hpp"
#include "server/sandbox_conversion.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

namespace {
// Pods per streamed page: small enough that no page nears the gRPC message
// limit however many labels and annotations pods carry.
constexpr int kPageSize = 100;
}  // namespace

grpc::Status CriRuntimeService::StreamPodSandboxes(
    grpc::ServerContext*, const v1::StreamPodSandboxesRequest* request,
    grpc::ServerWriter<v1::StreamPodSandboxesResponse>* writer) {
    return rpc_status("StreamPodSandboxes", [&] {
        v1::StreamPodSandboxesResponse page;
        for (const auto& record : state_.sandboxes().store().list()) {
            if (record->state == sandbox::SandboxState::Creating ||
                !matches(*record, request->filter())) {
                continue;
            }
            fill_pod_sandbox(*record, page.add_pod_sandboxes());
            if (page.pod_sandboxes_size() == kPageSize) {
                writer->Write(page);
                page.Clear();
            }
        }
        if (page.pod_sandboxes_size() > 0) {
            writer->Write(page);
        }
    });
}

}  // namespace berth::daemon::server
