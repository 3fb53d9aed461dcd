// The metrics berthd counts as it goes (the rest is read from the stores at
// scrape time): one per daemon, owned by ServerState.
#pragma once

#include "metrics/pull_metrics.hpp"
#include "metrics/rpc_metrics.hpp"

namespace berth::daemon::metrics {

struct Registry {
    RpcMetrics rpcs;
    PullMetrics pulls;
};

}  // namespace berth::daemon::metrics
