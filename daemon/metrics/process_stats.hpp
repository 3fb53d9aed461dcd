// berthd's own footprint, read from /proc/self at scrape time.
#pragma once

#include <cstdint>

namespace berth::daemon::metrics {

// Resident set size in bytes (/proc/self/statm); 0 when unreadable.
std::uint64_t resident_memory_bytes();
// Open file descriptors (/proc/self/fd), not counting the one used to list
// them.
std::uint64_t open_fds();

}  // namespace berth::daemon::metrics
