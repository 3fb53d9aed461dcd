// The cAdvisor metrics Berth reports through ListPodSandboxMetrics, under
// the names, help texts and label keys kubelet's /metrics/cadvisor has
// always served, so that dashboards and alerts keep working when kubelet
// takes them from the runtime (PodAndContainerStatsFromCRI).
#pragma once

#include <string>
#include <vector>

#include "berth/cri_api.hpp"

namespace berth::daemon::stats {

// Every metric starts with these labels, in this order (cAdvisor's as
// kubelet serves them): container name ("" for the pod itself), id (the
// container or pod sandbox id), image, name (the runtime's name: k8s_...),
// namespace and pod.
const std::vector<std::string>& base_label_keys();

struct MetricSpec {
    std::string name;
    std::string help;
    runtime::v1::MetricType type;
    std::vector<std::string> extra_label_keys;  // after the base labels
};

const std::vector<MetricSpec>& metric_specs();

// nullptr for a name not in metric_specs().
const MetricSpec* find_metric_spec(const std::string& name);

std::vector<runtime::v1::MetricDescriptor> metric_descriptors();

}  // namespace berth::daemon::stats
