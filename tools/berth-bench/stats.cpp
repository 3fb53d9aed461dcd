#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace berth::bench {

std::optional<double> percentile(std::vector<double> samples, double p) {
    if (samples.empty())
        return std::nullopt;
    p = std::clamp(p, 0.0, 100.0);
    std::sort(samples.begin(), samples.end());
    const double rank = p / 100.0 * static_cast<double>(samples.size() - 1);
    const auto lower = static_cast<std::size_t>(std::floor(rank));
    const auto upper = std::min(lower + 1, samples.size() - 1);
    const double fraction = rank - static_cast<double>(lower);
    return samples[lower] + (samples[upper] - samples[lower]) * fraction;
}

Summary summarize(const std::vector<double>& samples_ms, std::size_t errors,
                  std::size_t concurrency) {
    Summary summary;
    summary.errors = errors;
    summary.count = samples_ms.size();
    if (samples_ms.empty())
        return summary;
    summary.p50 = *percentile(samples_ms, 50);
    summary.p95 = *percentile(samples_ms, 95);
    summary.p99 = *percentile(samples_ms, 99);
    summary.max = *std::max_element(samples_ms.begin(), samples_ms.end());
    const double total = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0);
    summary.mean = total / static_cast<double>(samples_ms.size());
    if (summary.mean > 0) {
        summary.ops_per_second =
            static_cast<double>(std::max<std::size_t>(concurrency, 1)) * 1000.0 / summary.mean;
    }
    return summary;
}

std::optional<double> ratio(std::optional<double> candidate, std::optional<double> baseline) {
    if (!candidate || !baseline || *baseline <= 0)
        return std::nullopt;
    return *candidate / *baseline;
}

std::string format_ratio(std::optional<double> value) {
    if (!value)
        return "-";
    char text[32];
    std::snprintf(text, sizeof(text), "%.2fx", *value);
    return text;
}

}  // namespace berth::bench
