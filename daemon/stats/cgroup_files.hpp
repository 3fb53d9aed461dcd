// Reading the small text files that cgroups (and /proc) expose. Stats are
// read often and must never take the daemon down: every reader here returns
// "nothing" for a missing or malformed file instead of throwing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::daemon::stats {

// The whole file (they are a few KiB at most), or nullopt when it cannot be
// opened or read. Files bigger than `limit` are cut there.
std::optional<std::string> read_small_file(const std::string& path, std::size_t limit = 64 * 1024);

// A decimal unsigned number with optional surrounding whitespace ("123\n").
std::optional<std::uint64_t> parse_u64(std::string_view text);

// The value of `key` in a flat keyed file ("key value" per line, as
// memory.stat, cpu.stat, cpuacct.stat, memory.events).
std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key);

// A single number in a file; v2's "max" (no limit) is nullopt.
std::optional<std::uint64_t> read_u64_file(const std::string& path);

// One line of a pressure file (cgroup v2 cpu.pressure, memory.pressure,
// io.pressure): "some avg10=0.00 avg60=0.00 avg300=0.00 total=0".
struct PressureLine {
    double avg10 = 0;
    double avg60 = 0;
    double avg300 = 0;
    std::uint64_t total = 0;  // microseconds stalled
};
struct Pressure {
    std::optional<PressureLine> some;
    std::optional<PressureLine> full;
};
Pressure parse_pressure(std::string_view text);

}  // namespace berth::daemon::stats
