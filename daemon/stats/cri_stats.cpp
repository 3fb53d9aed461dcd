#include "stats/cri_stats.hpp"

namespace berth::daemon::stats {

namespace v1 = runtime::v1;

namespace {

void set(v1::UInt64Value* out, std::uint64_t value) {
    out->set_value(value);
}

bool has_pressure(const Pressure& pressure) {
    return pressure.some || pressure.full;
}

void fill_psi_data(const PressureLine& line, v1::PsiData* out) {
    out->set_total(line.total * 1000);  // the kernel counts microseconds, CRI nanoseconds
    out->set_avg10(line.avg10);
    out->set_avg60(line.avg60);
    out->set_avg300(line.avg300);
}

void fill_psi(const Pressure& pressure, v1::PsiStats* out) {
    if (pressure.full) {
        fill_psi_data(*pressure.full, out->mutable_full());
    }
    if (pressure.some) {
        fill_psi_data(*pressure.some, out->mutable_some());
    }
}

void fill_cpu(const CgroupSample& cgroup, std::int64_t timestamp,
              std::optional<std::uint64_t> nano_cores, v1::CpuUsage* out) {
    out->set_timestamp(timestamp);
    if (cgroup.cpu_usage_ns) {
        set(out->mutable_usage_core_nano_seconds(), *cgroup.cpu_usage_ns);
    }
    if (nano_cores) {
        set(out->mutable_usage_nano_cores(), *nano_cores);
    }
    if (has_pressure(cgroup.cpu_pressure)) {
        fill_psi(cgroup.cpu_pressure, out->mutable_psi());
    }
}

void fill_memory(const CgroupSample& cgroup, std::int64_t timestamp, v1::MemoryUsage* out) {
    out->set_timestamp(timestamp);
    if (cgroup.memory_working_set) {
        set(out->mutable_working_set_bytes(), *cgroup.memory_working_set);
        if (cgroup.memory_limit) {
            // What may still be used before the limit bites: kubelet's
            // eviction reads this.
            const std::uint64_t used = *cgroup.memory_working_set;
            set(out->mutable_available_bytes(),
                *cgroup.memory_limit > used ? *cgroup.memory_limit - used : 0);
        }
    }
    if (cgroup.memory_usage) {
        set(out->mutable_usage_bytes(), *cgroup.memory_usage);
    }
    if (cgroup.memory_rss) {
        set(out->mutable_rss_bytes(), *cgroup.memory_rss);
    }
    if (cgroup.page_faults) {
        set(out->mutable_page_faults(), *cgroup.page_faults);
    }
    if (cgroup.major_page_faults) {
        set(out->mutable_major_page_faults(), *cgroup.major_page_faults);
    }
    if (has_pressure(cgroup.memory_pressure)) {
        fill_psi(cgroup.memory_pressure, out->mutable_psi());
    }
}

void fill_swap(const CgroupSample& cgroup, std::int64_t timestamp, v1::SwapUsage* out) {
    out->set_timestamp(timestamp);
    set(out->mutable_swap_usage_bytes(), *cgroup.swap_usage);
    if (cgroup.swap_limit) {
        set(out->mutable_swap_available_bytes(),
            *cgroup.swap_limit > *cgroup.swap_usage ? *cgroup.swap_limit - *cgroup.swap_usage : 0);
    }
}

void fill_interface(const InterfaceCounters& counters, v1::NetworkInterfaceUsage* out) {
    out->set_name(counters.name);
    set(out->mutable_rx_bytes(), counters.rx_bytes);
    set(out->mutable_rx_errors(), counters.rx_errors);
    set(out->mutable_tx_bytes(), counters.tx_bytes);
    set(out->mutable_tx_errors(), counters.tx_errors);
}

}  // namespace

const InterfaceCounters* default_interface(const std::vector<InterfaceCounters>& interfaces) {
    for (const auto& counters : interfaces) {
        if (counters.name == "eth0") {
            return &counters;
        }
    }
    return interfaces.empty() ? nullptr : &interfaces.front();
}

v1::ContainerStats to_cri_stats(const container::Container& record, const ContainerSample& sample) {
    v1::ContainerStats stats;
    auto* attributes = stats.mutable_attributes();
    attributes->set_id(record.id);
    *attributes->mutable_metadata() = record.config.metadata();
    *attributes->mutable_labels() = record.config.labels();
    *attributes->mutable_annotations() = record.config.annotations();
    const CgroupSample& cgroup = sample.cgroup;
    if (cgroup.found) {
        fill_cpu(cgroup, sample.timestamp_ns, sample.nano_cores, stats.mutable_cpu());
        fill_memory(cgroup, sample.timestamp_ns, stats.mutable_memory());
        if (cgroup.swap_usage) {
            fill_swap(cgroup, sample.timestamp_ns, stats.mutable_swap());
        }
        if (has_pressure(cgroup.io_pressure)) {
            stats.mutable_io()->set_timestamp(sample.timestamp_ns);
            fill_psi(cgroup.io_pressure, stats.mutable_io()->mutable_psi());
        }
    }
    if (sample.writable_layer) {
        auto* layer = stats.mutable_writable_layer();
        layer->set_timestamp(sample.timestamp_ns);
        layer->mutable_fs_id()->set_mountpoint(sample.layer_mountpoint);
        set(layer->mutable_used_bytes(), sample.writable_layer->bytes);
        set(layer->mutable_inodes_used(), sample.writable_layer->inodes);
    }
    return stats;
}

v1::PodSandboxStats to_cri_stats(const sandbox::Sandbox& record, const PodSample& sample) {
    v1::PodSandboxStats stats;
    auto* attributes = stats.mutable_attributes();
    attributes->set_id(record.id);
    *attributes->mutable_metadata() = record.config.metadata();
    *attributes->mutable_labels() = record.config.labels();
    *attributes->mutable_annotations() = record.config.annotations();
    auto* linux = stats.mutable_linux();
    const CgroupSample& cgroup = sample.cgroup;
    if (cgroup.found) {
        fill_cpu(cgroup, sample.timestamp_ns, sample.nano_cores, linux->mutable_cpu());
        fill_memory(cgroup, sample.timestamp_ns, linux->mutable_memory());
        if (has_pressure(cgroup.io_pressure)) {
            linux->mutable_io()->set_timestamp(sample.timestamp_ns);
            fill_psi(cgroup.io_pressure, linux->mutable_io()->mutable_psi());
        }
    }
    if (cgroup.process_count) {
        linux->mutable_process()->set_timestamp(sample.timestamp_ns);
        set(linux->mutable_process()->mutable_process_count(), *cgroup.process_count);
    }
    if (sample.interfaces) {
        auto* network = linux->mutable_network();
        network->set_timestamp(sample.timestamp_ns);
        if (const auto* primary = default_interface(*sample.interfaces)) {
            fill_interface(*primary, network->mutable_default_interface());
        }
        for (const auto& counters : *sample.interfaces) {
            fill_interface(counters, network->add_interfaces());
        }
    }
    for (const auto& [container, container_sample] : sample.containers) {
        *linux->add_containers() = to_cri_stats(*container, container_sample);
    }
    return stats;
}

}  // namespace berth::daemon::stats
