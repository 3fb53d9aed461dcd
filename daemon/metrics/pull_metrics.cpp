#include "metrics/pull_metrics.hpp"

#include <vector>

namespace berth::daemon::metrics {

namespace {

const std::vector<double>& pull_buckets() {
    // A cached image answers in milliseconds, a large one over a slow link
    // takes many minutes.
    static const std::vector<double> buckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5, 5,
                                                10,   30,   60,  120,  300, 600, 1800};
    return buckets;
}

}  // namespace

PullMetrics::PullMetrics() : durations_(pull_buckets()) {}

void PullMetrics::record(bool succeeded, double seconds) {
    std::lock_guard lock(mutex_);
    durations_.observe(seconds);
    if (!succeeded)
        ++failures_;
}

void PullMetrics::write(TextWriter& out, std::uint64_t bytes_fetched) const {
    std::lock_guard lock(mutex_);
    out.family("berth_image_pulls_total", "counter", "PullImage requests handled.");
    out.sample("berth_image_pulls_total", {}, static_cast<double>(durations_.count));
    out.family("berth_image_pull_failures_total", "counter", "PullImage requests that failed.");
    out.sample("berth_image_pull_failures_total", {}, static_cast<double>(failures_));
    out.family("berth_image_pull_bytes_total", "counter",
               "Bytes of image blobs fetched from registries.");
    out.sample("berth_image_pull_bytes_total", {}, static_cast<double>(bytes_fetched));
    out.family("berth_image_pull_duration_seconds", "histogram",
               "Time PullImage took, failed pulls included.");
    out.histogram("berth_image_pull_duration_seconds", {}, durations_);
}

}  // namespace berth::daemon::metrics
