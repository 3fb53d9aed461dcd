// One scrape of GET /metrics: the counted metrics (Registry) plus what is
// computed from the daemon's state at that moment (containers and pods by
// state, monitors alive, event subscribers, berthd's memory and fds).
#pragma once

#include <string>

#include "container/container.hpp"
#include "container/runtime_set.hpp"
#include "events/event_bus.hpp"
#include "metrics/registry.hpp"
#include "sandbox/sandbox_store.hpp"

namespace berth::daemon::metrics {

struct ScrapeSources {
    const Registry* registry = nullptr;
    const container::ContainerStore* containers = nullptr;
    const sandbox::SandboxStore* sandboxes = nullptr;
    const container::RuntimeSet* runtimes = nullptr;
    const events::EventBus* events = nullptr;
};

// The whole exposition text; a source left null is left out.
std::string render_metrics(const ScrapeSources& sources);

}  // namespace berth::daemon::metrics
