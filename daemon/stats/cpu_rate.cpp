#include "stats/cpu_rate.hpp"

namespace berth::daemon::stats {

std::uint64_t nano_cores(std::uint64_t usage_before_ns, std::uint64_t usage_after_ns,
                         std::chrono::nanoseconds elapsed) {
    if (elapsed.count() <= 0 || usage_after_ns < usage_before_ns) {
        return 0;
    }
    // In long double: the product of a large usage delta and 1e9 overflows
    // 64 bits.
    const long double delta = static_cast<long double>(usage_after_ns - usage_before_ns);
    return static_cast<std::uint64_t>(delta * 1e9L / static_cast<long double>(elapsed.count()));
}

std::optional<std::uint64_t> CpuRateCache::update(const std::string& id, Clock::time_point now,
                                                  std::uint64_t usage_ns) {
    std::lock_guard lock(mutex_);
    const auto found = entries_.find(id);
    if (found == entries_.end()) {
        entries_.emplace(id, Entry{now, usage_ns, std::nullopt});
        return std::nullopt;
    }
    Entry& entry = found->second;
    if (usage_ns < entry.usage_ns || now < entry.at) {
        entry = Entry{now, usage_ns, std::nullopt};
        return std::nullopt;
    }
    if (now - entry.at < kMinimumWindow) {
        return entry.rate;
    }
    entry.rate = nano_cores(entry.usage_ns, usage_ns, now - entry.at);
    entry.at = now;
    entry.usage_ns = usage_ns;
    return entry.rate;
}

void CpuRateCache::retain(const std::set<std::string>& alive) {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
        it = alive.count(it->first) != 0 ? std::next(it) : entries_.erase(it);
    }
}

std::size_t CpuRateCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace berth::daemon::stats
