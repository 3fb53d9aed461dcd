#include "server/stats_filters.hpp"

#include "server/label_selector.hpp"

namespace berth::daemon::server {

namespace v1 = runtime::v1;

namespace {

bool has_prefix(const std::string& id, const std::string& prefix) {
    return prefix.empty() || id.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

bool matches(const container::Container& record, const v1::ContainerStatsFilter& filter) {
    return has_prefix(record.id, filter.id()) &&
           has_prefix(record.sandbox_id, filter.pod_sandbox_id()) &&
           labels_match(record.config.labels(), filter.label_selector());
}

bool matches(const sandbox::Sandbox& record, const v1::PodSandboxStatsFilter& filter) {
    return has_prefix(record.id, filter.id()) &&
           labels_match(record.config.labels(), filter.label_selector());
}

std::vector<std::shared_ptr<const container::Container>> stats_containers(
    const container::ContainerStore& store, const v1::ContainerStatsFilter& filter) {
    std::vector<std::shared_ptr<const container::Container>> selected;
    for (auto& record : store.list()) {
        if (record->state != container::ContainerState::Creating && matches(*record, filter)) {
            selected.push_back(std::move(record));
        }
    }
    return selected;
}

std::vector<std::shared_ptr<const sandbox::Sandbox>> stats_pods(
    const sandbox::SandboxStore& store, const v1::PodSandboxStatsFilter& filter) {
    std::vector<std::shared_ptr<const sandbox::Sandbox>> selected;
    for (auto& record : store.list()) {
        if (record->state != sandbox::SandboxState::Creating && matches(*record, filter)) {
            selected.push_back(std::move(record));
        }
    }
    return selected;
}

}  // namespace berth::daemon::server
