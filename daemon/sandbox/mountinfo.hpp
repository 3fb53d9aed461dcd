// The mounts of this process, from /proc/self/mountinfo.
#pragma once

#include <string>
#include <vector>

namespace berth::daemon::sandbox {

struct MountEntry {
    std::string mount_point;  // octal escapes (\040 for a space) left as written
    std::string fs_type;
};

std::vector<MountEntry> read_mountinfo();

}  // namespace berth::daemon::sandbox
