// The CRI RuntimeService. Each RPC lives in its own file named after it
// (version.cpp, status.cpp, exec.cpp, ...).
#pragma once

#include "berth/cri_api.hpp"
#include "server/server_state.hpp"

namespace berth::daemon::server {

namespace v1 = ::runtime::v1;

class CriRuntimeService final : public v1::RuntimeService::Service {
public:
    explicit CriRuntimeService(ServerState& state) : state_(state) {}

    grpc::Status Version(grpc::ServerContext* context, const v1::VersionRequest* request,
                         v1::VersionResponse* response) override;
    grpc::Status RunPodSandbox(grpc::ServerContext* context,
                               const v1::RunPodSandboxRequest* request,
                               v1::RunPodSandboxResponse* response) override;
    grpc::Status StopPodSandbox(grpc::ServerContext* context,
                                const v1::StopPodSandboxRequest* request,
                                v1::StopPodSandboxResponse* response) override;
    grpc::Status RemovePodSandbox(grpc::ServerContext* context,
                                  const v1::RemovePodSandboxRequest* request,
                                  v1::RemovePodSandboxResponse* response) override;
    grpc::Status PodSandboxStatus(grpc::ServerContext* context,
                                  const v1::PodSandboxStatusRequest* request,
                                  v1::PodSandboxStatusResponse* response) override;
    grpc::Status ListPodSandbox(grpc::ServerContext* context,
                                const v1::ListPodSandboxRequest* request,
                                v1::ListPodSandboxResponse* response) override;
    grpc::Status StreamPodSandboxes(
        grpc::ServerContext* context, const v1::StreamPodSandboxesRequest* request,
        grpc::ServerWriter<v1::StreamPodSandboxesResponse>* writer) override;
    grpc::Status CreateContainer(grpc::ServerContext* context,
                                 const v1::CreateContainerRequest* request,
                                 v1::CreateContainerResponse* response) override;
    grpc::Status StartContainer(grpc::ServerContext* context,
                                const v1::StartContainerRequest* request,
                                v1::StartContainerResponse* response) override;
    grpc::Status StopContainer(grpc::ServerContext* context,
                               const v1::StopContainerRequest* request,
                               v1::StopContainerResponse* response) override;
    grpc::Status RemoveContainer(grpc::ServerContext* context,
                                 const v1::RemoveContainerRequest* request,
                                 v1::RemoveContainerResponse* response) override;
    grpc::Status ListContainers(grpc::ServerContext* context,
                                const v1::ListContainersRequest* request,
                                v1::ListContainersResponse* response) override;
    grpc::Status StreamContainers(
        grpc::ServerContext* context, const v1::StreamContainersRequest* request,
        grpc::ServerWriter<v1::StreamContainersResponse>* writer) override;
    grpc::Status ContainerStatus(grpc::ServerContext* context,
                                 const v1::ContainerStatusRequest* request,
                                 v1::ContainerStatusResponse* response) override;
    grpc::Status UpdateContainerResources(grpc::ServerContext* context,
                                          const v1::UpdateContainerResourcesRequest* request,
                                          v1::UpdateContainerResourcesResponse* response) override;
    grpc::Status ReopenContainerLog(grpc::ServerContext* context,
                                    const v1::ReopenContainerLogRequest* request,
                                    v1::ReopenContainerLogResponse* response) override;
    grpc::Status ExecSync(grpc::ServerContext* context, const v1::ExecSyncRequest* request,
                          v1::ExecSyncResponse* response) override;
    grpc::Status Exec(grpc::ServerContext* context, const v1::ExecRequest* request,
                      v1::ExecResponse* response) override;
    grpc::Status Attach(grpc::ServerContext* context, const v1::AttachRequest* request,
                        v1::AttachResponse* response) override;
    grpc::Status PortForward(grpc::ServerContext* context, const v1::PortForwardRequest* request,
                             v1::PortForwardResponse* response) override;
    grpc::Status ContainerStats(grpc::ServerContext* context,
                                const v1::ContainerStatsRequest* request,
                                v1::ContainerStatsResponse* response) override;
    grpc::Status ListContainerStats(grpc::ServerContext* context,
                                    const v1::ListContainerStatsRequest* request,
                                    v1::ListContainerStatsResponse* response) override;
    grpc::Status StreamContainerStats(
        grpc::ServerContext* context, const v1::StreamContainerStatsRequest* request,
        grpc::ServerWriter<v1::StreamContainerStatsResponse>* writer) override;
    grpc::Status PodSandboxStats(grpc::ServerContext* context,
                                 const v1::PodSandboxStatsRequest* request,
                                 v1::PodSandboxStatsResponse* response) override;
    grpc::Status ListPodSandboxStats(grpc::ServerContext* context,
                                     const v1::ListPodSandboxStatsRequest* request,
                                     v1::ListPodSandboxStatsResponse* response) override;
    grpc::Status StreamPodSandboxStats(
        grpc::ServerContext* context, const v1::StreamPodSandboxStatsRequest* request,
        grpc::ServerWriter<v1::StreamPodSandboxStatsResponse>* writer) override;
    grpc::Status UpdateRuntimeConfig(grpc::ServerContext* context,
                                     const v1::UpdateRuntimeConfigRequest* request,
                                     v1::UpdateRuntimeConfigResponse* response) override;
    grpc::Status Status(grpc::ServerContext* context, const v1::StatusRequest* request,
                        v1::StatusResponse* response) override;
    grpc::Status CheckpointContainer(grpc::ServerContext* context,
                                     const v1::CheckpointContainerRequest* request,
                                     v1::CheckpointContainerResponse* response) override;
    grpc::Status GetContainerEvents(
        grpc::ServerContext* context, const v1::GetEventsRequest* request,
        grpc::ServerWriter<v1::ContainerEventResponse>* writer) override;
    grpc::Status ListMetricDescriptors(grpc::ServerContext* context,
                                       const v1::ListMetricDescriptorsRequest* request,
                                       v1::ListMetricDescriptorsResponse* response) override;
    grpc::Status ListPodSandboxMetrics(grpc::ServerContext* context,
                                       const v1::ListPodSandboxMetricsRequest* request,
                                       v1::ListPodSandboxMetricsResponse* response) override;
    grpc::Status StreamPodSandboxMetrics(
        grpc::ServerContext* context, const v1::StreamPodSandboxMetricsRequest* request,
        grpc::ServerWriter<v1::StreamPodSandboxMetricsResponse>* writer) override;
    grpc::Status RuntimeConfig(grpc::ServerContext* context,
                               const v1::RuntimeConfigRequest* request,
                               v1::RuntimeConfigResponse* response) override;
    grpc::Status UpdatePodSandboxResources(
        grpc::ServerContext* context, const v1::UpdatePodSandboxResourcesRequest* request,
        v1::UpdatePodSandboxResourcesResponse* response) override;

private:
    ServerState& state_;
};

}  // namespace berth::daemon::server
