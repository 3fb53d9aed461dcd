// RuntimeService RPCs that later issues build. Each answers UNIMPLEMENTED
// with its own name, so a client learns exactly what is missing. When an RPC
// is built, its line here moves into a file of its own.
#include "server/not_implemented.hpp"
#include "server/runtime_service.hpp"

namespace berth::daemon::server {

BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, Exec, ExecRequest, ExecResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, Attach, AttachRequest, AttachResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, PortForward, PortForwardRequest, PortForwardResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, ContainerStats, ContainerStatsRequest,
                            ContainerStatsResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, ListContainerStats, ListContainerStatsRequest,
                            ListContainerStatsResponse)
BERTH_NOT_IMPLEMENTED_STREAM(CriRuntimeService, StreamContainerStats, StreamContainerStatsRequest,
                             StreamContainerStatsResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, PodSandboxStats, PodSandboxStatsRequest,
                            PodSandboxStatsResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, ListPodSandboxStats, ListPodSandboxStatsRequest,
                            ListPodSandboxStatsResponse)
BERTH_NOT_IMPLEMENTED_STREAM(CriRuntimeService, StreamPodSandboxStats, StreamPodSandboxStatsRequest,
                             StreamPodSandboxStatsResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, CheckpointContainer, CheckpointContainerRequest,
                            CheckpointContainerResponse)
BERTH_NOT_IMPLEMENTED_STREAM(CriRuntimeService, GetContainerEvents, GetEventsRequest,
                             ContainerEventResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, ListMetricDescriptors, ListMetricDescriptorsRequest,
                            ListMetricDescriptorsResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, ListPodSandboxMetrics, ListPodSandboxMetricsRequest,
                            ListPodSandboxMetricsResponse)
BERTH_NOT_IMPLEMENTED_STREAM(CriRuntimeService, StreamPodSandboxMetrics,
                             StreamPodSandboxMetricsRequest, StreamPodSandboxMetricsResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriRuntimeService, UpdatePodSandboxResources,
                            UpdatePodSandboxResourcesRequest, UpdatePodSandboxResourcesResponse)

}  // namespace berth::daemon::server
