// Image pulls: how many, how many failed, how long they took, and the bytes
// fetched from registries (counted by storage's registry client).
#pragma once

#include <cstdint>
#include <mutex>

#include "metrics/exposition.hpp"

namespace berth::daemon::metrics {

class PullMetrics {
public:
    PullMetrics();
    void record(bool succeeded, double seconds);
    // `bytes_fetched`: blob bytes received from registries so far.
    void write(TextWriter& out, std::uint64_t bytes_fetched) const;

private:
    mutable std::mutex mutex_;
    Histogram durations_;
    std::uint64_t failures_ = 0;
};

}  // namespace berth::daemon::metrics
