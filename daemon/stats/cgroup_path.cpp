#include "stats/cgroup_path.hpp"

#include <nlohmann/json.hpp>

#include "sandbox/pod_cgroup.hpp"
#include "stats/cgroup_files.hpp"

namespace berth::daemon::stats {

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool climbs(const std::string& path) {
    return path.find("/../") != std::string::npos || ends_with(path, "/..");
}

// "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" is the root.
std::optional<std::string> expand_slice(const std::string& slice) {
    if (slice == "-.slice") {
        return std::string();
    }
    try {
        return sandbox::cgroup_parent_path(slice, config::CgroupManager::Systemd);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

std::optional<std::string> cgroup_path_from_spec(const std::string& cgroups_path) {
    if (cgroups_path.empty()) {
        return std::nullopt;
    }
    if (cgroups_path.front() == '/') {
        return climbs(cgroups_path) ? std::nullopt : std::optional(cgroups_path);
    }
    const auto first = cgroups_path.find(':');
    const auto second = first == std::string::npos ? first : cgroups_path.find(':', first + 1);
    if (second == std::string::npos || cgroups_path.find(':', second + 1) != std::string::npos) {
        return std::nullopt;
    }
    std::string slice = cgroups_path.substr(0, first);
    const std::string prefix = cgroups_path.substr(first + 1, second - first - 1);
    const std::string name = cgroups_path.substr(second + 1);
    if (name.empty() || name.find('/') != std::string::npos) {
        return std::nullopt;
    }
    if (slice.empty()) {
        slice = "system.slice";  // runc's default parent
    }
    const auto parent = expand_slice(slice);
    if (!parent) {
        return std::nullopt;
    }
    if (ends_with(name, ".slice")) {
        const auto own = expand_slice(name);
        return own ? std::optional(*parent + "/" + name) : std::nullopt;
    }
    return *parent + "/" + prefix + "-" + name + ".scope";
}

std::optional<std::string> container_cgroup_path(const std::string& bundle) {
    const auto text = read_small_file(bundle + "/config.json", 16 * 1024 * 1024);
    if (!text) {
        return std::nullopt;
    }
    const auto spec = nlohmann::json::parse(*text, nullptr, false);
    if (spec.is_discarded() || !spec.is_object()) {
        return std::nullopt;
    }
    const auto linux = spec.find("linux");
    if (linux == spec.end() || !linux->is_object()) {
        return std::nullopt;
    }
    const auto path = linux->find("cgroupsPath");
    if (path == linux->end() || !path->is_string()) {
        return std::nullopt;
    }
    return cgroup_path_from_spec(path->get<std::string>());
}

std::optional<std::string> pod_cgroup_path(const std::string& cgroup_parent) {
    if (cgroup_parent.empty()) {
        return std::nullopt;
    }
    if (cgroup_parent.front() == '/') {
        if (cgroup_parent == "/" || climbs(cgroup_parent)) {
            return std::nullopt;
        }
        return cgroup_parent;
    }
    const auto path = expand_slice(cgroup_parent);
    // The root cgroup holds the whole node, never one pod.
    return path && !path->empty() ? path : std::nullopt;
}

}  // namespace berth::daemon::stats
