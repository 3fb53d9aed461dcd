// Bytes and inodes under a directory, as containers/storage counts a
// container's writable layer: every entry (the directory itself included)
// is one inode, bytes are allocated blocks, a file with several hard links
// counts once, and other filesystems mounted below are not entered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace berth::daemon::stats {

struct DiskUsage {
    std::uint64_t bytes = 0;
    std::uint64_t inodes = 0;
};

// nullopt when `directory` itself cannot be read. Entries that vanish or
// cannot be read during the walk are skipped: a running container changes
// its layer while we count.
std::optional<DiskUsage> directory_usage(const std::string& directory);

}  // namespace berth::daemon::stats
