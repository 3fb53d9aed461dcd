// Samples in CRI's terms: ContainerStats and PodSandboxStats. A value that
// could not be read is left out (kubelet tells "unknown" from zero by a
// missing field); a container whose cgroup is gone has no cpu or memory.
#pragma once

#include "berth/cri_api.hpp"
#include "container/container.hpp"
#include "sandbox/sandbox.hpp"
#include "stats/stats_collector.hpp"

namespace berth::daemon::stats {

runtime::v1::ContainerStats to_cri_stats(const container::Container& record,
                                         const ContainerSample& sample);
runtime::v1::PodSandboxStats to_cri_stats(const sandbox::Sandbox& record, const PodSample& sample);

// The interface kubelet reports as the pod's network: eth0 (what CNI
// plugins name it), else the first one there is; nullptr when none.
const InterfaceCounters* default_interface(const std::vector<InterfaceCounters>& interfaces);

}  // namespace berth::daemon::stats
