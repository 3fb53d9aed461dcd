#include "metrics/scrape.hpp"

#include <map>

#include "berth/storage/registry_client.hpp"
#include "metrics/process_stats.hpp"

namespace berth::daemon::metrics {

namespace {

void write_containers(TextWriter& out, const container::ContainerStore& store,
                      const container::RuntimeSet* runtimes) {
    using container::ContainerState;
    // Every state appears, at 0 too, so that a series never vanishes.
    std::map<std::string, std::uint64_t> by_state;
    for (const auto state : {ContainerState::Creating, ContainerState::Created,
                             ContainerState::Running, ContainerState::Exited}) {
        by_state[container::to_string(state)] = 0;
    }
    std::uint64_t monitors = 0;
    for (const auto& record : store.list()) {
        ++by_state[container::to_string(record->state)];
        if (runtimes == nullptr || (record->state != ContainerState::Created &&
                                    record->state != ContainerState::Running)) {
            continue;
        }
        try {
            if (runtimes->get(record->runtime_handler).monitor_alive(record->id))
                ++monitors;
        } catch (const std::exception&) {
            // A handler gone from the configuration: its monitor is not ours
            // to find.
        }
    }
    out.family("berth_containers", "gauge", "Containers known to berthd, by state.");
    for (const auto& [state, count] : by_state)
        out.sample("berth_containers", {{"state", state}}, static_cast<double>(count));
    if (runtimes != nullptr) {
        out.family("berth_monitor_processes", "gauge",
                   "Container monitors (berth-conmon) alive, for created and running "
                   "containers.");
        out.sample("berth_monitor_processes", {}, static_cast<double>(monitors));
    }
}

void write_pods(TextWriter& out, const sandbox::SandboxStore& store) {
    using sandbox::SandboxState;
    std::map<std::string, std::uint64_t> by_state;
    for (const auto state : {SandboxState::Creating, SandboxState::Ready, SandboxState::NotReady})
        by_state[sandbox::to_string(state)] = 0;
    for (const auto& record : store.list())
        ++by_state[sandbox::to_string(record->state)];
    out.family("berth_pods", "gauge", "Pod sandboxes known to berthd, by state.");
    for (const auto& [state, count] : by_state)
        out.sample("berth_pods", {{"state", state}}, static_cast<double>(count));
}

void write_events(TextWriter& out, const events::EventBus& bus) {
    out.family("berth_container_event_subscribers", "gauge",
               "GetContainerEvents streams being served.");
    out.sample("berth_container_event_subscribers", {}, static_cast<double>(bus.subscribers()));
    out.family("berth_container_events_total", "counter", "Container events published.");
    out.sample("berth_container_events_total", {}, static_cast<double>(bus.published()));
    out.family("berth_container_event_subscribers_dropped_total", "counter",
               "GetContainerEvents streams ended because the client fell too far behind.");
    out.sample("berth_container_event_subscribers_dropped_total", {},
               static_cast<double>(bus.dropped()));
}

void write_process(TextWriter& out) {
    out.family("berth_process_resident_memory_bytes", "gauge",
               "Resident memory of berthd in bytes.");
    out.sample("berth_process_resident_memory_bytes", {},
               static_cast<double>(resident_memory_bytes()));
    out.family("berth_process_open_fds", "gauge", "File descriptors berthd has open.");
    out.sample("berth_process_open_fds", {}, static_cast<double>(open_fds()));
}

}  // namespace

std::string render_metrics(const ScrapeSources& sources) {
    TextWriter out;
    if (sources.registry != nullptr) {
        sources.registry->rpcs.write(out);
        sources.registry->pulls.write(out, storage::blob_bytes_received());
    }
    if (sources.containers != nullptr)
        write_containers(out, *sources.containers, sources.runtimes);
    if (sources.sandboxes != nullptr)
        write_pods(out, *sources.sandboxes);
    if (sources.events != nullptr)
        write_events(out, *sources.events);
    write_process(out);
    return out.text();
}

}  // namespace berth::daemon::metrics
