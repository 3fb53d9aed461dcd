#include "sandbox/mountinfo.hpp"

#include <fstream>
#include <sstream>

namespace berth::daemon::sandbox {

std::vector<MountEntry> read_mountinfo() {
    std::vector<MountEntry> mounts;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // "id parent major:minor root mount-point options [optional...] - fstype source super"
        const auto separator = line.find(" - ");
        if (separator == std::string::npos) {
            continue;
        }
        std::istringstream head(line.substr(0, separator));
        std::string field;
        MountEntry entry;
        for (int index = 0; index < 5 && head >> field; ++index) {
            entry.mount_point = field;
        }
        std::istringstream tail(line.substr(separator + 3));
        tail >> entry.fs_type;
        mounts.push_back(std::move(entry));
    }
    return mounts;
}

}  // namespace berth::daemon::sandbox
