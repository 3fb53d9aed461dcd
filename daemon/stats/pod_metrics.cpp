#include "stats/pod_metrics.hpp"

#include <stdexcept>

#include "stats/metric_descriptors.hpp"

namespace berth::daemon::stats {

namespace v1 = runtime::v1;

namespace {

constexpr std::uint64_t kNanosPerSecond = 1000000000;

std::optional<std::uint64_t> seconds(std::optional<std::uint64_t> nanoseconds) {
    if (nanoseconds) {
        return *nanoseconds / kNanosPerSecond;
    }
    return std::nullopt;
}

// Appends metrics that share their base labels and timestamp.
class MetricWriter {
public:
    MetricWriter(std::vector<std::string> base_values, std::int64_t timestamp,
                 google::protobuf::RepeatedPtrField<v1::Metric>* out)
        : base_values_(std::move(base_values)), timestamp_(timestamp), out_(out) {}

    // Nothing is written for a value that could not be read.
    void add(const std::string& name, std::optional<std::uint64_t> value,
             const std::vector<std::string>& extra_values = {}) {
        if (!value) {
            return;
        }
        const MetricSpec* spec = find_metric_spec(name);
        if (spec == nullptr || spec->extra_label_keys.size() != extra_values.size()) {
            // A programming error: kubelet drops metrics it has no
            // descriptor for, so they must match.
            throw std::logic_error("metric " + name + " does not match its descriptor");
        }
        auto* metric = out_->Add();
        metric->set_name(name);
        metric->set_timestamp(timestamp_);
        metric->set_metric_type(spec->type);
        for (const auto& label : base_values_) {
            metric->add_label_values(label);
        }
        for (const auto& label : extra_values) {
            metric->add_label_values(label);
        }
        metric->mutable_value()->set_value(*value);
    }

private:
    std::vector<std::string> base_values_;
    std::int64_t timestamp_;
    google::protobuf::RepeatedPtrField<v1::Metric>* out_;
};

void add_cgroup_metrics(MetricWriter& writer, const CgroupSample& cgroup) {
    writer.add("container_cpu_usage_seconds_total", seconds(cgroup.cpu_usage_ns), {"total"});
    writer.add("container_cpu_user_seconds_total", seconds(cgroup.cpu_user_ns));
    writer.add("container_cpu_system_seconds_total", seconds(cgroup.cpu_system_ns));
    writer.add("container_cpu_cfs_periods_total", cgroup.cpu_periods);
    writer.add("container_cpu_cfs_throttled_periods_total", cgroup.cpu_throttled_periods);
    writer.add("container_cpu_cfs_throttled_seconds_total", seconds(cgroup.cpu_throttled_ns));
    writer.add("container_memory_usage_bytes", cgroup.memory_usage);
    writer.add("container_memory_working_set_bytes", cgroup.memory_working_set);
    writer.add("container_memory_rss", cgroup.memory_rss);
    writer.add("container_memory_cache", cgroup.memory_cache);
    writer.add("container_memory_mapped_file", cgroup.memory_mapped_file);
    writer.add("container_memory_swap", cgroup.swap_usage);
    writer.add("container_memory_max_usage_bytes", cgroup.memory_max_usage);
    writer.add("container_memory_failcnt", cgroup.memory_failcnt);
    // cAdvisor reports each fault counter twice, for the cgroup itself and
    // for its hierarchy; the files give the hierarchy's, which is also the
    // container's own when it has no children.
    for (const char* scope : {"container", "hierarchy"}) {
        writer.add("container_memory_failures_total", cgroup.page_faults, {"pgfault", scope});
        writer.add("container_memory_failures_total", cgroup.major_page_faults,
                   {"pgmajfault", scope});
    }
    writer.add("container_oom_events_total", cgroup.oom_kills);
    writer.add("container_processes", cgroup.process_count);
    writer.add("container_threads", cgroup.pids_current);
}

void add_network_metrics(MetricWriter& writer, const std::vector<InterfaceCounters>& interfaces) {
    for (const auto& counters : interfaces) {
        const std::vector<std::string> label = {counters.name};
        writer.add("container_network_receive_bytes_total", counters.rx_bytes, label);
        writer.add("container_network_receive_packets_total", counters.rx_packets, label);
        writer.add("container_network_receive_packets_dropped_total", counters.rx_dropped, label);
        writer.add("container_network_receive_errors_total", counters.rx_errors, label);
        writer.add("container_network_transmit_bytes_total", counters.tx_bytes, label);
        writer.add("container_network_transmit_packets_total", counters.tx_packets, label);
        writer.add("container_network_transmit_packets_dropped_total", counters.tx_dropped, label);
        writer.add("container_network_transmit_errors_total", counters.tx_errors, label);
    }
}

std::string image_name(const container::Container& record) {
    const auto& image = record.config.image();
    return image.user_specified_image().empty() ? image.image() : image.user_specified_image();
}

}  // namespace

v1::PodSandboxMetrics to_cri_metrics(const sandbox::Sandbox& record, const PodSample& sample) {
    v1::PodSandboxMetrics metrics;
    metrics.set_pod_sandbox_id(record.id);
    const auto& pod = record.config.metadata();
    MetricWriter pod_writer({"", record.id, "", record.name, pod.namespace_(), pod.name()},
                            sample.timestamp_ns, metrics.mutable_metrics());
    if (sample.cgroup.found) {
        add_cgroup_metrics(pod_writer, sample.cgroup);
    }
    if (sample.interfaces) {
        add_network_metrics(pod_writer, *sample.interfaces);
    }
    for (const auto& [container, container_sample] : sample.containers) {
        if (!container_sample.cgroup.found) {
            continue;
        }
        auto* entry = metrics.add_container_metrics();
        entry->set_container_id(container->id);
        MetricWriter writer({container->config.metadata().name(), container->id,
                             image_name(*container), container->name, pod.namespace_(), pod.name()},
                            container_sample.timestamp_ns, entry->mutable_metrics());
        add_cgroup_metrics(writer, container_sample.cgroup);
        // cAdvisor says 0 for no limit.
        writer.add("container_spec_memory_limit_bytes",
                   container_sample.cgroup.memory_limit.value_or(0));
        if (container_sample.writable_layer) {
            writer.add("container_fs_usage_bytes", container_sample.writable_layer->bytes,
                       {container_sample.layer_mountpoint});
        }
        if (container->started_at > 0) {
            writer.add("container_start_time_seconds",
                       static_cast<std::uint64_t>(container->started_at) / kNanosPerSecond);
        }
    }
    return metrics;
}

}  // namespace berth::daemon::stats
