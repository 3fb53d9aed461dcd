// Samples containers and pods for the stats and metrics RPCs: cgroup files
// (read once per call, no process spawned, no runtime called), the
// writable layer of each container, the counters of each pod's network
// namespace, and usage_nano_cores from the previous sample. The cgroup of a
// container comes from its OCI spec and is remembered (it never changes);
// what is kept per container or pod is dropped once it is gone.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "berth/storage/image_storage.hpp"
#include "container/container.hpp"
#include "sandbox/sandbox_store.hpp"
#include "stats/cgroup_layout.hpp"
#include "stats/cgroup_sample.hpp"
#include "stats/cpu_rate.hpp"
#include "stats/disk_usage.hpp"
#include "stats/net_dev.hpp"

namespace berth::daemon::stats {

struct ContainerSample {
    std::int64_t timestamp_ns = 0;  // wall clock, as CRI timestamps are
    CgroupSample cgroup;
    std::optional<std::uint64_t> nano_cores;
    std::optional<DiskUsage> writable_layer;
    std::string layer_mountpoint;  // the filesystem holding the layer
};

struct PodSample {
    std::int64_t timestamp_ns = 0;
    CgroupSample cgroup;  // the pod's cgroup, or the sum of its containers'
    std::optional<std::uint64_t> nano_cores;
    // Interfaces other than lo; nullopt with the host's network or when the
    // namespace could not be read.
    std::optional<std::vector<InterfaceCounters>> interfaces;
    std::vector<std::pair<std::shared_ptr<const container::Container>, ContainerSample>> containers;
};

class StatsCollector {
public:
    StatsCollector(const container::ContainerStore& containers,
                   const sandbox::SandboxStore& sandboxes, const storage::ImageStorage& images,
                   const CgroupLayout& layout = host_cgroup_layout());

    // What is available now: cpu and memory while the container's cgroup
    // exists, the writable layer while its root filesystem does.
    ContainerSample sample_container(const container::Container& record, ReadOptions options = {});
    // The pod's cgroup (kubelet's cgroup_parent) when it has one, else the
    // sum of its containers'; its network; each of its containers.
    PodSample sample_pod(const sandbox::Sandbox& record, ReadOptions options = {});

    // Drops what is remembered about containers and pods that are gone.
    void forget_departed();

private:
    std::optional<std::string> cgroup_of(const container::Container& record);

    const container::ContainerStore& containers_;
    const sandbox::SandboxStore& sandboxes_;
    const storage::ImageStorage& images_;
    const CgroupLayout layout_;
    CpuRateCache container_rates_;
    CpuRateCache pod_rates_;
    std::mutex paths_mutex_;
    std::map<std::string, std::string> cgroup_paths_;  // container id -> cgroup
};

}  // namespace berth::daemon::stats
