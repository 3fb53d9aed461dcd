// A pod's sample as CRI metrics (ListPodSandboxMetrics): the pod's own
// cgroup and network, then each of its containers, every value labelled as
// metric_descriptors() declares it.
#pragma once

#include "berth/cri_api.hpp"
#include "sandbox/sandbox.hpp"
#include "stats/stats_collector.hpp"

namespace berth::daemon::stats {

// Containers whose cgroup is gone (exited and cleaned up) are left out, as
// cAdvisor forgets a container once its cgroup is gone.
runtime::v1::PodSandboxMetrics to_cri_metrics(const sandbox::Sandbox& record,
                                              const PodSample& sample);

}  // namespace berth::daemon::stats
