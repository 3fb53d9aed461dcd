#include "container/spec/cdi_edits.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace berth::daemon::container::cdi {

namespace {

using nlohmann::json;

std::string env_name(const std::string& entry) {
    return entry.substr(0, entry.find('='));
}

void apply_env(const std::vector<std::string>& env, json& spec) {
    json& process_env = spec["process"]["env"];
    if (!process_env.is_array()) {
        process_env = json::array();
    }
    for (const auto& entry : env) {
        const std::string name = env_name(entry);
        const auto same = std::find_if(process_env.begin(), process_env.end(), [&](const json& e) {
            return env_name(e.get<std::string>()) == name;
        });
        if (same != process_env.end()) {
            *same = entry;
        } else {
            process_env.push_back(entry);
        }
    }
}

// "" for anything but a character or block device or a FIFO.
std::string host_node_type(mode_t mode) {
    if (S_ISCHR(mode)) {
        return "c";
    }
    if (S_ISBLK(mode)) {
        return "b";
    }
    if (S_ISFIFO(mode)) {
        return "p";
    }
    return "";
}

// The reference's rule: a node that names its type and major number (or
// is a FIFO) may be absent on the host; any other is completed from the
// host's node and must exist.
json device_node_entry(const DeviceNode& node, const json& user) {
    const std::string& host_path = node.host_path.empty() ? node.path : node.host_path;
    std::string type = node.type;
    std::int64_t major_number = node.major.value_or(0);
    std::int64_t minor_number = node.minor.value_or(0);
    std::optional<std::uint32_t> file_mode = node.file_mode;
    const bool fully_specified = !type.empty() && (major_number != 0 || type == "p");

    struct stat info {};
    if (stat(host_path.c_str(), &info) != 0) {
        if (!fully_specified) {
            throw EditError("device node " + node.path + ": cannot stat " + host_path + ": " +
                            std::strerror(errno));
        }
    } else {
        if (!file_mode) {
            file_mode = static_cast<std::uint32_t>(info.st_mode & 07777);
        }
        if (!fully_specified) {
            const std::string host_type = host_node_type(info.st_mode);
            if (host_type.empty()) {
                throw EditError("device node " + node.path + ": " + host_path +
                                " is not a device node");
            }
            // "u" (unbuffered) is a character device to the kernel.
            const std::string comparable = type == "u" ? "c" : type;
            if (!type.empty() && comparable != host_type) {
                throw EditError("device node " + node.path + ": type \"" + type + "\" but " +
                                host_path + " has type \"" + host_type + "\"");
            }
            if (type.empty()) {
                type = host_type;
            }
            if (type != "p" && major_number == 0) {
                major_number = major(info.st_rdev);
                minor_number = minor(info.st_rdev);
            }
        }
    }
    json entry = {{"path", node.path}, {"type", type}};
    if (type != "p") {
        entry["major"] = major_number;
        entry["minor"] = minor_number;
    }
    if (file_mode) {
        entry["fileMode"] = *file_mode;
    }
    // Without an owner of its own the node belongs to the container's user,
    // so that a non-root process can open it.
    const std::uint32_t process_uid = user.value("uid", 0u);
    const std::uint32_t process_gid = user.value("gid", 0u);
    if (node.uid) {
        entry["uid"] = *node.uid;
    } else if (process_uid > 0) {
        entry["uid"] = process_uid;
    }
    if (node.gid) {
        entry["gid"] = *node.gid;
    } else if (process_gid > 0) {
        entry["gid"] = process_gid;
    }
    return entry;
}

void apply_device_node(const DeviceNode& node, json& spec) {
    json entry = device_node_entry(node, spec["process"]["user"]);
    json& devices = spec["linux"]["devices"];
    if (!devices.is_array()) {
        devices = json::array();
    }
    devices.erase(std::remove_if(devices.begin(), devices.end(),
                                 [&](const json& d) { return d.value("path", "") == node.path; }),
                  devices.end());
    const std::string type = entry["type"];
    if (type != "p" && node.permissions != "none") {
        json& rules = spec["linux"]["resources"]["devices"];
        if (!rules.is_array()) {
            rules = json::array();
        }
        rules.push_back({{"allow", true},
                         {"type", type == "u" ? "c" : type},
                         {"major", entry["major"]},
                         {"minor", entry["minor"]},
                         {"access", node.permissions.empty() ? "rwm" : node.permissions}});
    }
    devices.push_back(std::move(entry));
}

std::string clean_destination(const std::string& path) {
    std::string clean = std::filesystem::path(path).lexically_normal().string();
    while (clean.size() > 1 && clean.back() == '/') {
        clean.pop_back();
    }
    return clean;
}

std::size_t depth(const json& mount) {
    const std::string clean = clean_destination(mount.value("destination", "/"));
    return clean == "/" ? 0 : static_cast<std::size_t>(std::count(clean.begin(), clean.end(), '/'));
}

void apply_mounts(const std::vector<Mount>& cdi_mounts, json& spec) {
    json& mounts = spec["mounts"];
    if (!mounts.is_array()) {
        mounts = json::array();
    }
    for (const auto& m : cdi_mounts) {
        const std::string destination = clean_destination(m.container_path);
        mounts.erase(std::remove_if(mounts.begin(), mounts.end(),
                                    [&](const json& existing) {
                                        return clean_destination(existing.value("destination",
                                                                                "")) == destination;
                                    }),
                     mounts.end());
        json entry = {{"destination", destination}, {"source", m.host_path}};
        if (!m.type.empty()) {
            entry["type"] = m.type;
        }
        entry["options"] = m.options;
        mounts.push_back(std::move(entry));
    }
    // Parents before children, else a later parent mount hides a child.
    std::stable_sort(mounts.begin(), mounts.end(),
                     [](const json& a, const json& b) { return depth(a) < depth(b); });
}

void apply_hooks(const std::vector<Hook>& hooks, json& spec) {
    for (const auto& hook : hooks) {
        json entry = {{"path", hook.path}};
        if (!hook.args.empty()) {
            entry["args"] = hook.args;
        }
        if (!hook.env.empty()) {
            entry["env"] = hook.env;
        }
        if (hook.timeout) {
            entry["timeout"] = *hook.timeout;
        }
        spec["hooks"][hook.hook_name].push_back(std::move(entry));
    }
}

void apply_additional_gids(const std::vector<std::uint32_t>& gids, json& spec) {
    json& additional = spec["process"]["user"]["additionalGids"];
    if (!additional.is_array()) {
        additional = json::array();
    }
    for (const auto gid : gids) {
        // 0 is ignored, as the spec says: root's group is never added this way.
        if (gid == 0 || std::find(additional.begin(), additional.end(), gid) != additional.end()) {
            continue;
        }
        additional.push_back(gid);
    }
}

void apply_intel_rdt(const IntelRdt& rdt, json& spec) {
    json entry = json::object();
    if (!rdt.clos_id.empty()) {
        entry["closID"] = rdt.clos_id;
    }
    if (!rdt.l3_cache_schema.empty()) {
        entry["l3CacheSchema"] = rdt.l3_cache_schema;
    }
    if (!rdt.mem_bw_schema.empty()) {
        entry["memBwSchema"] = rdt.mem_bw_schema;
    }
    if (rdt.enable_cmt) {
        entry["enableCMT"] = true;
    }
    if (rdt.enable_mbm) {
        entry["enableMBM"] = true;
    }
    spec["linux"]["intelRdt"] = entry;
}

}  // namespace

void apply_edits(const ContainerEdits& edits, nlohmann::json& spec) {
    apply_env(edits.env, spec);
    for (const auto& node : edits.device_nodes) {
        apply_device_node(node, spec);
    }
    if (!edits.mounts.empty()) {
        apply_mounts(edits.mounts, spec);
    }
    apply_hooks(edits.hooks, spec);
    if (!edits.additional_gids.empty()) {
        apply_additional_gids(edits.additional_gids, spec);
    }
    if (edits.intel_rdt) {
        apply_intel_rdt(*edits.intel_rdt, spec);
    }
}

}  // namespace berth::daemon::container::cdi
