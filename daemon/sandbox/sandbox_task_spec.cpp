#include "sandbox/sandbox_task_spec.hpp"

namespace berth::daemon::sandbox {

using json = nlohmann::json;

namespace {

json namespace_entry(const std::string& type, const std::string& path = "") {
    json entry = {{"type", type}};
    if (!path.empty())
        entry["path"] = path;
    return entry;
}

std::string cgroups_path(const Sandbox& record, config::CgroupManager manager) {
    // The pod's own cgroup, as containers are placed beside it.
    if (manager == config::CgroupManager::Systemd) {
        const std::string slice =
            record.cgroup_parent.empty() ? "system.slice" : record.cgroup_parent;
        return slice + ":berth:" + record.id;
    }
    return record.cgroup_path.empty() ? "/berth/berth-" + record.id : record.cgroup_path;
}

}  // namespace

json sandbox_task_spec(const Sandbox& record, const std::string& rootfs,
                       const std::string& pod_init, config::CgroupManager manager) {
    const auto& metadata = record.config.metadata();
    json namespaces = json::array({namespace_entry("pid"), namespace_entry("mount")});
    if (!record.netns_path.empty())
        namespaces.push_back(namespace_entry("network", record.netns_path));
    if (!record.utsns_path.empty())
        namespaces.push_back(namespace_entry("uts", record.utsns_path));
    if (!record.ipcns_path.empty())
        namespaces.push_back(namespace_entry("ipc", record.ipcns_path));
    const json no_capabilities = json::array();
    return {
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", false},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", {"/berth-pod-init"}},
          {"env", {"PATH=/"}},
          {"cwd", "/"},
          {"capabilities",
           {{"bounding", no_capabilities},
            {"effective", no_capabilities},
            {"permitted", no_capabilities},
            {"inheritable", no_capabilities},
            {"ambient", no_capabilities}}},
          {"noNewPrivileges", true}}},
        {"root", {{"path", rootfs}, {"readonly", true}}},
        {"mounts",
         {{{"destination", "/proc"},
           {"type", "proc"},
           {"source", "proc"},
           {"options", {"nosuid", "noexec", "nodev"}}},
          {{"destination", "/dev"},
           {"type", "tmpfs"},
           {"source", "tmpfs"},
           {"options", {"nosuid", "noexec", "strictatime", "mode=755", "size=64k"}}},
          {{"destination", "/berth-pod-init"},
           {"type", "bind"},
           {"source", pod_init},
           {"options", {"rbind", "ro", "nosuid", "nodev"}}}}},
        {"annotations",
         {{"io.kubernetes.cri.container-type", "sandbox"},
          {"io.kubernetes.cri.sandbox-id", record.id},
          {"io.kubernetes.cri.sandbox-name", metadata.name()},
          {"io.kubernetes.cri.sandbox-namespace", metadata.namespace_()},
          {"io.kubernetes.cri.sandbox-uid", metadata.uid()},
          {"io.kubernetes.cri.sandbox-log-directory", record.config.log_directory()}}},
        {"linux",
         {{"namespaces", namespaces},
          {"cgroupsPath", cgroups_path(record, manager)},
          {"maskedPaths", {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"}},
          {"readonlyPaths", {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"}}}},
    };
}

}  // namespace berth::daemon::sandbox
