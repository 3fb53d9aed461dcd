#include "pod_cgroups.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <system_error>

#include <unistd.h>

namespace berth::bench {
namespace fs = std::filesystem;

namespace {

std::string first_line(const fs::path& file) {
    std::ifstream in(file);
    std::string text;
    std::getline(in, text);
    return text;
}

bool copy_if_empty(const fs::path& from, const fs::path& to) {
    if (!first_line(to).empty())
        return true;
    std::ofstream out(to);
    out << first_line(from);
    out.flush();
    return static_cast<bool>(out);
}

}  // namespace

std::vector<std::string> cgroup_hierarchies() {
    std::vector<std::string> roots;
    std::ifstream mountinfo("/proc/self/mountinfo");
    for (std::string line; std::getline(mountinfo, line);) {
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER"
        const auto separator = line.find(" - ");
        if (separator == std::string::npos)
            continue;
        std::istringstream head(line.substr(0, separator));
        std::istringstream tail(line.substr(separator + 3));
        std::string ignored, mount_point, type;
        head >> ignored >> ignored >> ignored >> ignored >> mount_point;
        tail >> type;
        if (type == "cgroup" || type == "cgroup2")
            roots.push_back(mount_point);
    }
    return roots;
}

std::string PodCgroups::create(const std::string& path) {
    std::lock_guard lock(mutex_);
    if (!hierarchies_read_) {
        hierarchies_ = cgroup_hierarchies();
        hierarchies_read_ = true;
    }
    for (const auto& root : hierarchies_) {
        fs::path current = root;
        const fs::path relative = fs::path(path).relative_path();
        for (auto part_it = relative.begin(); part_it != relative.end(); ++part_it) {
            const auto& part = *part_it;
            const fs::path parent = current;
            current /= part;
            std::error_code error;
            if (fs::create_directory(current, error)) {
                created_.push_back({current.string(), std::next(part_it) == relative.end()});
            } else if (error) {
                return "mkdir " + current.string() + ": " + error.message();
            }
            if (fs::exists(current / "cpuset.cpus") &&
                !(copy_if_empty(parent / "cpuset.cpus", current / "cpuset.cpus") &&
                  copy_if_empty(parent / "cpuset.mems", current / "cpuset.mems"))) {
                return "cannot fill " + current.string() + "'s cpuset";
            }
        }
    }
    return "";
}

PodCgroups::~PodCgroups() {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
        if (::rmdir(it->directory.c_str()) == 0 || errno == ENOENT)
            continue;
        if (it->pod || errno != EBUSY) {
            std::cerr << "berth-bench: cannot remove the pod cgroup " << it->directory << ": "
                      << std::strerror(errno) << "\n";
        }
    }
}

}  // namespace berth::bench
