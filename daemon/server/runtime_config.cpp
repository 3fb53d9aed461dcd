#include "server/runtime_service.hpp"

namespace berth::daemon::server {

// Kubelet (KubeletCgroupDriverFromCRI) takes its cgroup driver from here, so
// the two can never disagree.
grpc::Status CriRuntimeService::RuntimeConfig(grpc::ServerContext*, const v1::RuntimeConfigRequest*,
                                              v1::RuntimeConfigResponse* response) {
    const auto config = state_.config().current();
    const bool systemd = config->runtime.cgroup_manager == config::CgroupManager::Systemd;
    response->mutable_linux()->set_cgroup_driver(systemd ? v1::SYSTEMD : v1::CGROUPFS);
    return grpc::Status::OK;
}

}  // namespace berth::daemon::server
