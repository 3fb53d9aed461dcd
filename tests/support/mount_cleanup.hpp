// Safety net for tests that make mounts: detaches every mount below a
// directory (deepest first) so that the directory can be removed even when a
// test failed half-way.
#pragma once

#include <sys/mount.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace berth::test {

inline std::vector<std::string> mounts_below(const std::string& dir) {
    std::vector<std::string> result;
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mountinfo, line)) {
        std::size_t start = 0;
        for (int field = 0; field < 4 && start != std::string::npos; ++field) {
            start = line.find(' ', start);
            if (start != std::string::npos) {
                ++start;
            }
        }
        if (start == std::string::npos) {
            continue;
        }
        const std::string point = line.substr(start, line.find(' ', start) - start);
        if (point.rfind(dir + "/", 0) == 0) {
            result.push_back(point);
        }
    }
    return result;
}

inline void unmount_all_below(const std::string& dir) {
    auto points = mounts_below(dir);
    std::sort(points.begin(), points.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& point : points) {
        umount2(point.c_str(), MNT_DETACH);
    }
}

}  // namespace berth::test
