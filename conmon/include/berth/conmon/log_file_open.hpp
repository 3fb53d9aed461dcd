// Opening a CRI log file confined to its log directory. berth-conmon and
// berthd's VM relay write logs as root at a path a CRI client named: a
// symbolic link planted anywhere beneath the log directory (the log file
// itself or a directory on the way to it) would otherwise send root's
// appends to any file on the node, and a fifo planted there would block the
// open for ever.
#pragma once

#include <string>

#include "berth/conmon/unique_fd.hpp"

namespace berth::conmon {

enum class PathResolution {
    // openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, falling back to
    // kNoFollow where the kernel has no openat2 (ENOSYS).
    kAutomatic,
    // Each component opened on its own with O_NOFOLLOW, from the directory
    // down: the fallback, chosen explicitly only by tests.
    kNoFollow,
};

// Opens `path` for appending: relative to `directory`, or absolute and
// lexically below it. Missing directories beneath `directory` are created
// (0755) one at a time, and the file (0640). `directory` itself is the
// caller's to trust (it must exist); below it no symbolic link is followed,
// no ".." is accepted, and only a regular file with no other hard link is
// kept. Returns an invalid fd with errno set and `error` saying why.
UniqueFd open_log_beneath(const std::string& directory, const std::string& path, std::string& error,
                          PathResolution resolution = PathResolution::kAutomatic);

}  // namespace berth::conmon
