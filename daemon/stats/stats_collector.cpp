#include "stats/stats_collector.hpp"

#include <chrono>
#include <set>

#include <spdlog/spdlog.h>

#include "stats/cgroup_path.hpp"

namespace berth::daemon::stats {

namespace {

std::int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

StatsCollector::StatsCollector(const container::ContainerStore& containers,
                               const sandbox::SandboxStore& sandboxes,
                               const storage::ImageStorage& images, const CgroupLayout& layout)
    : containers_(containers), sandboxes_(sandboxes), images_(images), layout_(layout) {}

std::optional<std::string> StatsCollector::cgroup_of(const container::Container& record) {
    {
        std::lock_guard lock(paths_mutex_);
        const auto found = cgroup_paths_.find(record.id);
        if (found != cgroup_paths_.end()) {
            return found->second;
        }
    }
    // Parsed once per container: the spec is written before the record
    // leaves Creating and its cgroupsPath never changes.
    auto path = container_cgroup_path(record.bundle);
    if (path) {
        std::lock_guard lock(paths_mutex_);
        cgroup_paths_.emplace(record.id, *path);
    }
    return path;
}

ContainerSample StatsCollector::sample_container(const container::Container& record,
                                                 ReadOptions options) {
    ContainerSample sample;
    sample.timestamp_ns = wall_clock_ns();
    const auto now = CpuRateCache::Clock::now();
    if (const auto cgroup = cgroup_of(record)) {
        sample.cgroup = read_cgroup(layout_, *cgroup, options);
        if (sample.cgroup.cpu_usage_ns) {
            sample.nano_cores =
                container_rates_.update(record.id, now, *sample.cgroup.cpu_usage_ns);
        }
    }
    sample.layer_mountpoint = images_.layout().container_layers().string();
    if (const auto rootfs = images_.rootfs(record.id)) {
        sample.writable_layer = directory_usage(rootfs->upper.string());
    }
    return sample;
}

PodSample StatsCollector::sample_pod(const sandbox::Sandbox& record, ReadOptions options) {
    PodSample sample;
    sample.timestamp_ns = wall_clock_ns();
    const auto now = CpuRateCache::Clock::now();
    ReadOptions with_processes = options;
    with_processes.processes = true;  // ProcessUsage of the pod

    const auto pod_cgroup = pod_cgroup_path(record.cgroup_parent);
    // Without a cgroup of the pod's own (no cgroup_parent) the pod is the sum
    // of its containers, whose processes are then counted one by one.
    const ReadOptions container_options = pod_cgroup ? options : with_processes;
    for (const auto& container : containers_.list()) {
        if (container->sandbox_id == record.id &&
            container->state != container::ContainerState::Creating) {
            sample.containers.emplace_back(container,
                                           sample_container(*container, container_options));
        }
    }
    if (pod_cgroup) {
        sample.cgroup = read_cgroup(layout_, *pod_cgroup, with_processes);
    } else {
        for (const auto& entry : sample.containers) {
            add_sample(sample.cgroup, entry.second.cgroup);
        }
    }
    if (sample.cgroup.cpu_usage_ns) {
        sample.nano_cores = pod_rates_.update(record.id, now, *sample.cgroup.cpu_usage_ns);
    }
    if (!record.host_network()) {
        try {
            std::vector<InterfaceCounters> interfaces;
            for (auto& counters : read_netns_interfaces(record.netns_path)) {
                if (counters.name != "lo") {
                    interfaces.push_back(std::move(counters));
                }
            }
            sample.interfaces = std::move(interfaces);
        } catch (const std::exception& error) {
            spdlog::debug("pod {}: no network stats: {}", record.id, error.what());
        }
    }
    return sample;
}

void StatsCollector::forget_departed() {
    std::set<std::string> containers;
    for (const auto& record : containers_.list()) {
        containers.insert(record->id);
    }
    std::set<std::string> pods;
    for (const auto& record : sandboxes_.list()) {
        pods.insert(record->id);
    }
    container_rates_.retain(containers);
    pod_rates_.retain(pods);
    std::lock_guard lock(paths_mutex_);
    for (auto it = cgroup_paths_.begin(); it != cgroup_paths_.end();) {
        it = containers.count(it->first) != 0 ? std::next(it) : cgroup_paths_.erase(it);
    }
}

}  // namespace berth::daemon::stats
