#include "sandbox/pod_cgroup.hpp"

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "request_paths.hpp"
#include "sandbox/mountinfo.hpp"
#include "status_error.hpp"

namespace berth::daemon::sandbox {

namespace fs = std::filesystem;

namespace {

std::string read_trimmed(const fs::path& file) {
    std::ifstream in(file);
    std::string text;
    std::getline(in, text);
    return text;
}

void write_value(const fs::path& file, const std::string& value) {
    std::ofstream out(file);
    out << value;
    out.flush();
    if (!out) {
        throw std::system_error(errno, std::generic_category(), "write " + file.string());
    }
}

// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and takes
// no tasks until it has some: inherit the parent's, down the path.
void fill_cpusets(const fs::path& root, const fs::path& relative) {
    fs::path current = root;
    for (const auto& part : relative) {
        if (part == "/") {
            continue;
        }
        const fs::path parent = current;
        current /= part;
        for (const char* name : {"cpuset.cpus", "cpuset.mems"}) {
            if (read_trimmed(current / name).empty()) {
                write_value(current / name, read_trimmed(parent / name));
            }
        }
    }
}

}  // namespace

std::string cgroup_parent_path(const std::string& parent, config::CgroupManager manager) {
    if (parent.empty()) {
        return "";
    }
    if (manager == config::CgroupManager::Cgroupfs) {
        // berthd creates the pod's cgroup below it, as root, in every hierarchy.
        if (const auto problem = request_paths::absolute_path_problem(parent); !problem.empty()) {
            throw invalid_argument(request_paths::describe("cgroup_parent", parent, problem) +
                                   " for the cgroupfs cgroup manager");
        }
        return parent;
    }
    const std::string suffix = ".slice";
    if (parent.size() <= suffix.size() ||
        parent.compare(parent.size() - suffix.size(), suffix.size(), suffix) != 0 ||
        parent.find('/') != std::string::npos) {
        throw invalid_argument("cgroup_parent \"" + parent +
                               "\" must be a slice name such as kubepods-pod1.slice for the "
                               "systemd cgroup manager");
    }
    // "a-b-c.slice" lives in "a.slice/a-b.slice/a-b-c.slice".
    const std::string name = parent.substr(0, parent.size() - suffix.size());
    std::string path;
    std::size_t dash = 0;
    while ((dash = name.find('-', dash)) != std::string::npos) {
        if (dash == 0 || name[dash - 1] == '-') {
            throw invalid_argument("cgroup_parent \"" + parent + "\" is not a valid slice name");
        }
        path += "/" + name.substr(0, dash) + suffix;
        ++dash;
    }
    return path + "/" + parent;
}

std::vector<std::string> cgroup_hierarchies() {
    std::vector<std::string> roots;
    for (const auto& mount : read_mountinfo()) {
        if (mount.fs_type == "cgroup" || mount.fs_type == "cgroup2") {
            roots.push_back(mount.mount_point);
        }
    }
    return roots;
}

void enable_v2_controllers(const std::string& root, const std::string& parent_path) {
    fs::path current = root;
    auto enable_here = [&current] {
        std::istringstream available(read_trimmed(current / "cgroup.controllers"));
        const std::string enabled = " " + read_trimmed(current / "cgroup.subtree_control") + " ";
        std::string controller;
        while (available >> controller) {
            if (enabled.find(" " + controller + " ") != std::string::npos) {
                continue;
            }
            // Appending: one "+name" per write, as the kernel takes them.
            std::ofstream out(current / "cgroup.subtree_control", std::ios::app);
            out << "+" << controller;
            out.flush();  // a refusal (EBUSY, ENOENT) leaves the controller off
        }
    };
    enable_here();
    for (const auto& part : fs::path(parent_path)) {
        if (part == "/" || part.empty()) {
            continue;
        }
        current /= part;
        enable_here();
    }
}

std::string enter_pod_cgroup(const std::string& parent_path, const std::string& id, pid_t pid) {
    const std::string relative = parent_path + "/berth-" + id;
    for (const auto& root : cgroup_hierarchies()) {
        const fs::path directory = fs::path(root) / relative.substr(1);
        fs::create_directories(directory);
        // Only the v2 hierarchy has cgroup.controllers at its root.
        if (fs::exists(fs::path(root) / "cgroup.controllers")) {
            enable_v2_controllers(root, parent_path);
        } else if (fs::exists(directory / "cpuset.cpus")) {
            fill_cpusets(root, relative);
        }
        if (pid > 0) {
            write_value(directory / "cgroup.procs", std::to_string(pid));
        }
    }
    return relative;
}

void remove_pod_cgroup(const std::string& cgroup_path) {
    if (cgroup_path.empty()) {
        return;
    }
    for (const auto& root : cgroup_hierarchies()) {
        const fs::path directory = fs::path(root) / cgroup_path.substr(1);
        if (rmdir(directory.c_str()) != 0 && errno != ENOENT) {
            throw std::system_error(errno, std::generic_category(), "rmdir " + directory.string());
        }
    }
}

}  // namespace berth::daemon::sandbox
