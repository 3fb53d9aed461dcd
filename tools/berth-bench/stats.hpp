// Latency statistics for berth-bench: percentiles of raw samples, the
// figures of one operation on one runtime, and the ratio between runtimes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace berth::bench {

// The p-th percentile (0 <= p <= 100) of `samples`, interpolated linearly
// between the two nearest ranks (numpy's default, "R-7"): with few samples a
// nearest-rank p99 would simply be the maximum. nullopt when there are none.
std::optional<double> percentile(std::vector<double> samples, double p);

struct Summary {
    std::size_t count = 0;  // successful, timed calls
    std::size_t errors = 0;
    double p50 = 0;
    double p95 = 0;
    double p99 = 0;
    double max = 0;
    double mean = 0;
    // Throughput at the concurrency the samples were taken with: workers
    // kept busy with only this operation would complete this many per second.
    double ops_per_second = 0;
};

// Figures of `samples_ms` taken by `concurrency` workers; every field but
// errors stays 0 when there are no samples.
Summary summarize(const std::vector<double>& samples_ms, std::size_t errors,
                  std::size_t concurrency);

// candidate / baseline (e.g. the p50 of runtime B over that of runtime A);
// nullopt when either side has no figure or the baseline is 0.
std::optional<double> ratio(std::optional<double> candidate, std::optional<double> baseline);

// "0.25x", or "-" when there is no ratio.
std::string format_ratio(std::optional<double> value);

}  // namespace berth::bench
