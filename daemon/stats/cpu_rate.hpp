// usage_nano_cores: the CPU a container (or pod) used per second between
// the previous sample of it and this one, as CRI-O and containerd compute
// it. The previous sample is kept per id; ids that no longer exist are
// dropped with retain(). Thread-safe: several RPCs sample at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace berth::daemon::stats {

class CpuRateCache {
public:
    using Clock = std::chrono::steady_clock;

    // Samples closer together than this give no new rate (the previous one
    // is answered again): two calls in quick succession, say ContainerStats
    // right after ListContainerStats, would otherwise divide noise by a
    // tiny window.
    static constexpr std::chrono::milliseconds kMinimumWindow{1000};

    // Records `usage_ns` (cumulative CPU time) seen at `now` and returns the
    // rate in nanocores since the previous sample of `id`; nullopt for the
    // first sample, and after the counter went backwards (a cgroup made
    // anew), which starts over.
    std::optional<std::uint64_t> update(const std::string& id, Clock::time_point now,
                                        std::uint64_t usage_ns);

    // Forgets every id not in `alive`.
    void retain(const std::set<std::string>& alive);

    std::size_t size() const;

private:
    struct Entry {
        Clock::time_point at;
        std::uint64_t usage_ns = 0;
        std::optional<std::uint64_t> rate;  // the last one computed
    };
    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
};

// Nanocores used between two samples: (usage delta) / (time delta) * 1e9.
std::uint64_t nano_cores(std::uint64_t usage_before_ns, std::uint64_t usage_after_ns,
                         std::chrono::nanoseconds elapsed);

}  // namespace berth::daemon::stats
