#include "stats/metric_descriptors.hpp"

#include <map>

namespace berth::daemon::stats {

namespace v1 = runtime::v1;

const std::vector<std::string>& base_label_keys() {
    static const std::vector<std::string> keys = {"container", "id",        "image",
                                                  "name",      "namespace", "pod"};
    return keys;
}

const std::vector<MetricSpec>& metric_specs() {
    constexpr auto counter = v1::COUNTER;
    constexpr auto gauge = v1::GAUGE;
    static const std::vector<MetricSpec> specs = {
        {"container_cpu_usage_seconds_total",
         "Cumulative cpu time consumed in seconds.",
         counter,
         {"cpu"}},
        {"container_cpu_user_seconds_total",
         "Cumulative user cpu time consumed in seconds.",
         counter,
         {}},
        {"container_cpu_system_seconds_total",
         "Cumulative system cpu time consumed in seconds.",
         counter,
         {}},
        {"container_cpu_cfs_periods_total",
         "Number of elapsed enforcement period intervals.",
         counter,
         {}},
        {"container_cpu_cfs_throttled_periods_total",
         "Number of throttled period intervals.",
         counter,
         {}},
        {"container_cpu_cfs_throttled_seconds_total",
         "Total time duration the container has been throttled.",
         counter,
         {}},
        {"container_memory_usage_bytes",
         "Current memory usage in bytes, including all memory regardless of when it was "
         "accessed",
         gauge,
         {}},
        {"container_memory_working_set_bytes", "Current working set in bytes.", gauge, {}},
        {"container_memory_rss", "Size of RSS in bytes.", gauge, {}},
        {"container_memory_cache", "Number of bytes of page cache memory.", gauge, {}},
        {"container_memory_mapped_file", "Size of memory mapped files in bytes.", gauge, {}},
        {"container_memory_swap", "Container swap usage in bytes.", gauge, {}},
        {"container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes", gauge, {}},
        {"container_memory_failcnt", "Number of memory usage hits limits", counter, {}},
        {"container_memory_failures_total",
         "Cumulative count of memory allocation failures.",
         counter,
         {"failure_type", "scope"}},
        {"container_oom_events_total",
         "Count of out of memory events observed for the container",
         counter,
         {}},
        {"container_spec_memory_limit_bytes", "Memory limit for the container.", gauge, {}},
        {"container_fs_usage_bytes",
         "Number of bytes that are consumed by the container on this "
         "filesystem.",
         gauge,
         {"device"}},
        {"container_processes", "Number of processes running inside the container.", gauge, {}},
        {"container_threads", "Number of threads running inside the container", gauge, {}},
        {"container_start_time_seconds",
         "Start time of the container since unix epoch in seconds.",
         gauge,
         {}},
        {"container_network_receive_bytes_total",
         "Cumulative count of bytes received",
         counter,
         {"interface"}},
        {"container_network_receive_packets_total",
         "Cumulative count of packets received",
         counter,
         {"interface"}},
        {"container_network_receive_packets_dropped_total",
         "Cumulative count of packets dropped while receiving",
         counter,
         {"interface"}},
        {"container_network_receive_errors_total",
         "Cumulative count of errors encountered while receiving",
         counter,
         {"interface"}},
        {"container_network_transmit_bytes_total",
         "Cumulative count of bytes transmitted",
         counter,
         {"interface"}},
        {"container_network_transmit_packets_total",
         "Cumulative count of packets transmitted",
         counter,
         {"interface"}},
        {"container_network_transmit_packets_dropped_total",
         "Cumulative count of packets dropped while transmitting",
         counter,
         {"interface"}},
        {"container_network_transmit_errors_total",
         "Cumulative count of errors encountered while transmitting",
         counter,
         {"interface"}},
    };
    return specs;
}

const MetricSpec* find_metric_spec(const std::string& name) {
    static const std::map<std::string, const MetricSpec*> by_name = [] {
        std::map<std::string, const MetricSpec*> index;
        for (const auto& spec : metric_specs()) {
            index.emplace(spec.name, &spec);
        }
        return index;
    }();
    const auto found = by_name.find(name);
    return found == by_name.end() ? nullptr : found->second;
}

std::vector<v1::MetricDescriptor> metric_descriptors() {
    std::vector<v1::MetricDescriptor> descriptors;
    for (const auto& spec : metric_specs()) {
        v1::MetricDescriptor descriptor;
        descriptor.set_name(spec.name);
        descriptor.set_help(spec.help);
        for (const auto& key : base_label_keys()) {
            descriptor.add_label_keys(key);
        }
        for (const auto& key : spec.extra_label_keys) {
            descriptor.add_label_keys(key);
        }
        descriptors.push_back(std::move(descriptor));
    }
    return descriptors;
}

}  // namespace berth::daemon::stats
