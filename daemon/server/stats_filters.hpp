// Which containers and pods the stats and metrics RPCs report: filters by
// id (a prefix is enough, as crictl users type them), pod sandbox id and
// label selector, the same rules as ListContainers and ListPodSandbox. A
// filter that matches nothing gives an empty list, not an error.
#pragma once

#include <memory>
#include <vector>

#include "berth/cri_api.hpp"
#include "container/container.hpp"
#include "sandbox/sandbox_store.hpp"

namespace berth::daemon::server {

bool matches(const container::Container& record, const runtime::v1::ContainerStatsFilter& filter);
bool matches(const sandbox::Sandbox& record, const runtime::v1::PodSandboxStatsFilter& filter);

// Containers past Creating that match, in id order.
std::vector<std::shared_ptr<const container::Container>> stats_containers(
    const container::ContainerStore& store, const runtime::v1::ContainerStatsFilter& filter);
// Pods past Creating that match, in id order.
std::vector<std::shared_ptr<const sandbox::Sandbox>> stats_pods(
    const sandbox::SandboxStore& store, const runtime::v1::PodSandboxStatsFilter& filter);

}  // namespace berth::daemon::server
