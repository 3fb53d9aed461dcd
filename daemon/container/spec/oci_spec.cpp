#include "container/spec/oci_spec.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <spdlog/spdlog.h>

#include "container/spec/capabilities.hpp"
#include "container/spec/cdi_devices.hpp"
#include "container/spec/devices.hpp"
#include "container/spec/rootfs_path.hpp"
#include "container/spec/seccomp.hpp"
#include "container/spec/user.hpp"
#include "quoted_value.hpp"
#include "request_paths.hpp"
#include "sandbox/pod_files.hpp"
#include "sandbox/user_namespace_mapping.hpp"

namespace berth::daemon::container {

namespace {

namespace fs = std::filesystem;
namespace v1 = runtime::v1;
using nlohmann::json;

// A host or container path from the request: absolute, no ".." (berthd
// creates missing mount sources as root), no control characters.
void require_request_path(const std::string& field, const std::string& value) {
    if (const auto problem = request_paths::absolute_path_problem(value); !problem.empty())
        throw SpecError(request_paths::describe(field, value, problem));
}

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const std::vector<std::string> kMaskedPaths = {
    "/proc/acpi",        "/proc/kcore",
    "/proc/keys",        "/proc/latency_stats",
    "/proc/timer_list",  "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",     "/sys/devices/virtual/powercap",
};
const std::vector<std::string> kReadonlyPaths = {
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

std::string normalize(const std::string& path) {
    std::string clean = fs::path(path).lexically_normal().string();
    while (clean.size() > 1 && clean.back() == '/') {
        clean.pop_back();
    }
    return clean;
}

std::size_t depth(const std::string& destination) {
    const std::string clean = normalize(destination);
    return clean == "/" ? 0 : static_cast<std::size_t>(std::count(clean.begin(), clean.end(), '/'));
}

std::string env_key(const std::string& entry) {
    return entry.substr(0, entry.find('='));
}

// Sets or replaces by key, keeping the first position: later sources
// override earlier ones without reordering what the image declared.
void set_env(std::vector<std::string>& env, const std::string& entry) {
    const std::string key = env_key(entry);
    const auto found = std::find_if(env.begin(), env.end(),
                                    [&](const auto& existing) { return env_key(existing) == key; });
    if (found != env.end()) {
        *found = entry;
    } else {
        env.push_back(entry);
    }
}

bool host_network(const SpecInputs& in) {
    return in.sandbox->netns_path.empty();
}

const v1::LinuxContainerSecurityContext& security_context(const SpecInputs& in) {
    return in.container->linux().security_context();
}

// Kubernetes' rules: command replaces the image's Entrypoint and drops its
// Cmd; args replace the Cmd.
std::vector<std::string> process_args(const SpecInputs& in) {
    const auto& container = *in.container;
    std::vector<std::string> args;
    if (!container.command().empty()) {
        args.assign(container.command().begin(), container.command().end());
    } else {
        args = in.image->entrypoint;
    }
    if (!container.args().empty()) {
        args.insert(args.end(), container.args().begin(), container.args().end());
    } else if (container.command().empty()) {
        args.insert(args.end(), in.image->cmd.begin(), in.image->cmd.end());
    }
    if (args.empty()) {
        throw SpecError(
            "command: no command specified (neither the request's command/args nor the image's "
            "Entrypoint/Cmd)");
    }
    return args;
}

std::vector<std::string> process_env(const SpecInputs& in, const ResolvedUser& user) {
    std::vector<std::string> env;
    const bool image_has_path = std::any_of(in.image->env.begin(), in.image->env.end(),
                                            [](const auto& e) { return env_key(e) == "PATH"; });
    if (!image_has_path) {
        env.emplace_back(kDefaultPath);
    }
    for (const auto& entry : in.image->env) {
        set_env(env, entry);
    }
    set_env(env, "HOSTNAME=" + (host_network(in) ? sandbox::node_hostname()
                                                 : sandbox::pod_hostname(*in.pod)));
    for (const auto& kv : in.container->envs()) {
        if (kv.key().empty()) {
            throw SpecError("envs: a variable has an empty name");
        }
        set_env(env, kv.key() + "=" + kv.value());
    }
    // As CRI-O: programs expect HOME, and the image rarely sets it.
    const bool has_home =
        std::any_of(env.begin(), env.end(), [](const auto& e) { return env_key(e) == "HOME"; });
    if (!has_home) {
        env.push_back("HOME=" + (user.home.empty() ? std::string("/") : user.home));
    }
    return env;
}

std::string process_cwd(const SpecInputs& in) {
    const std::string& requested = in.container->working_dir();
    if (!requested.empty()) {
        if (requested.front() != '/') {
            throw SpecError("working_dir \"" + requested + "\" must be an absolute path");
        }
        return requested;
    }
    const std::string& image = in.image->working_dir;
    if (image.empty()) {
        return "/";
    }
    // Docker accepts a relative WorkingDir and means it from "/".
    return image.front() == '/' ? image : "/" + image;
}

json process_rlimits() {
    // No fixed RLIMIT_NOFILE (containerd's 1048576): raising a hard limit
    // needs CAP_SYS_RESOURCE, so the container gets berthd's own, as CRI-O's
    // containers inherit it.
    struct rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return json::array();
    }
    return json::array(
        {{{"type", "RLIMIT_NOFILE"}, {"hard", limit.rlim_max}, {"soft", limit.rlim_max}}});
}

json process_section(const SpecInputs& in, const std::vector<std::string>& caps) {
    const auto& context = security_context(in);
    const ResolvedUser user = resolve_user(in.rootfs, in.image->user, context);
    json process = {
        {"terminal", in.container->tty()},
        {"user", {{"uid", user.uid}, {"gid", user.gid}, {"additionalGids", user.additional_gids}}},
        {"args", process_args(in)},
        {"env", process_env(in, user)},
        {"cwd", process_cwd(in)},
        {"capabilities",
         {{"bounding", caps},
          {"effective", caps},
          {"permitted", caps},
          {"inheritable", json::array()},
          {"ambient", json::array()}}},
        {"rlimits", process_rlimits()},
        {"noNewPrivileges", context.no_new_privs()},
    };
    if (in.container->linux().has_resources()) {
        const std::int64_t requested = in.container->linux().resources().oom_score_adj();
        const int floor = own_oom_score_adj();
        if (requested < floor) {
            spdlog::info(
                "container {}: oom_score_adj {} raised to {}, berthd's own: a lower one needs "
                "CAP_SYS_RESOURCE",
                in.container_id, requested, floor);
            process["oomScoreAdj"] = floor;
        } else {
            process["oomScoreAdj"] = std::min<std::int64_t>(requested, 1000);
        }
    }
    return process;
}

json mount(const std::string& destination, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
    return {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}};
}

const char* propagation_option(v1::MountPropagation propagation) {
    switch (propagation) {
    case v1::PROPAGATION_HOST_TO_CONTAINER:
        return "rslave";
    case v1::PROPAGATION_BIDIRECTIONAL:
        return "rshared";
    default:
        return "rprivate";
    }
}

// "/var/lib/data" -> "_2fvar_2flib_2fdata": a unique, flat directory name.
std::string escape_volume(const std::string& path) {
    std::string escaped;
    for (const unsigned char c : path) {
        if (std::isalnum(c) || c == '.' || c == '-') {
            escaped += static_cast<char>(c);
        } else {
            char hex[4];
            std::snprintf(hex, sizeof(hex), "_%02x", c);
            escaped += hex;
        }
    }
    return escaped;
}

json cri_mounts(const SpecInputs& in, std::string& rootfs_propagation) {
    json mounts = json::array();
    for (int index = 0; index < in.container->mounts_size(); ++index) {
        const auto& m = in.container->mounts(index);
        const std::string field = "mounts[" + std::to_string(index) + "]";
        require_request_path(field + ".container_path", m.container_path());
        const auto image_source = in.image_mount_sources.find(index);
        const bool of_image = image_source != in.image_mount_sources.end();
        if (!of_image) {
            if (m.host_path().empty() || m.host_path().front() != '/') {
                throw SpecError(field + ".host_path " + quoted_value(m.host_path()) +
                                " must be an absolute path");
            }
            require_request_path(field + ".host_path", m.host_path());
        }
        if (m.recursive_read_only()) {
            // As kubelet and critest expect: read-only all the way down only
            // makes sense for a read-only mount that no propagation can add
            // writable submounts to later.
            if (!m.readonly()) {
                throw SpecError(field + ".recursive_read_only needs readonly");
            }
            if (m.propagation() != v1::PROPAGATION_PRIVATE) {
                throw SpecError(field +
                                ".recursive_read_only needs propagation PROPAGATION_PRIVATE");
            }
            if (!in.recursive_read_only_mounts) {
                throw SpecError(field +
                                ".recursive_read_only: the pod's runtime handler cannot make "
                                "recursive read-only mounts");
            }
        }
        std::error_code error;
        if (!of_image && !fs::exists(m.host_path(), error)) {
            // CRI-O's behaviour (and Docker's -v): kubelet's hostPath
            // volumes of type "" rely on it.
            fs::create_directories(m.host_path(), error);
            if (error) {
                throw SpecError(field + ".host_path " + m.host_path() +
                                " does not exist and cannot be created: " + error.message());
            }
        }
        const char* propagation = propagation_option(m.propagation());
        if (m.propagation() == v1::PROPAGATION_BIDIRECTIONAL) {
            rootfs_propagation = "rshared";
        } else if (m.propagation() == v1::PROPAGATION_HOST_TO_CONTAINER &&
                   rootfs_propagation != "rshared") {
            rootfs_propagation = "rslave";
        }
        // An image is read-only whatever the mount says: its layers are
        // shared with every other container.
        const bool read_only = m.readonly() || of_image;
        std::vector<std::string> options = {"rbind", propagation, read_only ? "ro" : "rw"};
        if (of_image) {
            options.emplace_back("nosuid");
            options.emplace_back("nodev");
        }
        if (m.recursive_read_only()) {
            options.emplace_back("rro");
        }
        mounts.push_back(mount(normalize(m.container_path()), "bind",
                               of_image ? image_source->second : m.host_path(),
                               std::move(options)));
    }
    return mounts;
}

json image_volume_mounts(const SpecInputs& in, const json& cri) {
    json mounts = json::array();
    const auto mode = in.config->image.image_volumes;
    if (mode == config::ImageVolumes::Ignore) {
        return mounts;
    }
    for (const auto& volume : in.image->volumes) {
        const std::string destination = normalize("/" + volume);
        const bool covered = std::any_of(
            cri.begin(), cri.end(), [&](const json& m) { return m["destination"] == destination; });
        if (covered) {
            continue;
        }
        std::error_code error;
        if (mode == config::ImageVolumes::Mkdir) {
            fs::create_directories(resolve_in_rootfs(in.rootfs, destination), error);
            if (error) {
                throw SpecError("image volume " + destination +
                                ": cannot create it in the root filesystem: " + error.message());
            }
            continue;
        }
        const std::string source = in.container_dir + "/volumes/" + escape_volume(destination);
        fs::create_directories(source, error);
        if (error) {
            throw SpecError("image volume " + destination + ": cannot create " + source + ": " +
                            error.message());
        }
        mounts.push_back(mount(destination, "bind", source, {"rbind", "rprivate", "rw"}));
    }
    return mounts;
}

json mounts_section(const SpecInputs& in, bool privileged, std::string& rootfs_propagation) {
    const auto& context = security_context(in);
    const bool readonly_rootfs = context.readonly_rootfs();
    json mounts = json::array({
        mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mount("/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", privileged ? "rw" : "ro"}),
        mount("/sys/fs/cgroup", "cgroup", "cgroup",
              {"nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"}),
    });
    const auto& sandbox = *in.sandbox;
    const bool host_ipc = sandbox.ipcns_path.empty();
    if (!sandbox.shm_path.empty()) {
        mounts.push_back(
            mount("/dev/shm", "bind", sandbox.shm_path, {"rbind", "nosuid", "noexec", "nodev"}));
    } else if (host_ipc) {
        // The host's IPC namespace goes with the host's POSIX shared memory.
        mounts.push_back(
            mount("/dev/shm", "bind", "/dev/shm", {"rbind", "nosuid", "noexec", "nodev"}));
    } else {
        mounts.push_back(mount("/dev/shm", "tmpfs", "shm",
                               {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
    }
    const char* file_mode = readonly_rootfs ? "ro" : "rw";
    for (const auto& [destination, source] :
         {std::pair{"/etc/resolv.conf", sandbox.resolv_conf_path},
          std::pair{"/etc/hostname", sandbox.hostname_path},
          std::pair{"/etc/hosts", sandbox.hosts_path}}) {
        if (!source.empty()) {
            mounts.push_back(mount(destination, "bind", source,
                                   {"bind", "nodev", "nosuid", "noexec", file_mode}));
        }
    }

    const json cri = cri_mounts(in, rootfs_propagation);
    // A CRI mount at a default destination replaces the default.
    json merged = json::array();
    for (const auto& m : mounts) {
        const bool replaced = std::any_of(cri.begin(), cri.end(), [&](const json& c) {
            return c["destination"] == m["destination"];
        });
        if (!replaced) {
            merged.push_back(m);
        }
    }
    for (const auto& m : cri) {
        merged.push_back(m);
    }
    for (const auto& m : image_volume_mounts(in, cri)) {
        merged.push_back(m);
    }
    // Parents before children, else a later parent mount hides a child.
    std::stable_sort(merged.begin(), merged.end(), [](const json& a, const json& b) {
        return depth(a["destination"].get<std::string>()) <
               depth(b["destination"].get<std::string>());
    });
    return merged;
}

json namespace_entry(const std::string& type, const std::string& path = "") {
    json entry = {{"type", type}};
    if (!path.empty()) {
        entry["path"] = path;
    }
    return entry;
}

json namespaces_section(const SpecInputs& in) {
    const auto& sandbox = *in.sandbox;
    json namespaces = json::array();
    switch (security_context(in).namespace_options().pid()) {
    case v1::NODE:
        break;
    case v1::CONTAINER:
        namespaces.push_back(namespace_entry("pid"));
        break;
    case v1::TARGET:
        if (in.target_pid_ns.empty()) {
            throw SpecError(
                "linux.security_context.namespace_options.target_id: the target container's "
                "PID namespace is unknown");
        }
        namespaces.push_back(namespace_entry("pid", in.target_pid_ns));
        break;
    default:  // POD
        namespaces.push_back(namespace_entry("pid", sandbox.pidns_path));
        break;
    }
    // Network, IPC and UTS are the pod's, pinned by the sandbox: empty paths
    // mean the host's, so no namespace entry at all.
    if (!sandbox.netns_path.empty()) {
        namespaces.push_back(namespace_entry("network", sandbox.netns_path));
    }
    if (!sandbox.ipcns_path.empty()) {
        namespaces.push_back(namespace_entry("ipc", sandbox.ipcns_path));
    }
    if (!sandbox.utsns_path.empty()) {
        namespaces.push_back(namespace_entry("uts", sandbox.utsns_path));
    }
    namespaces.push_back(namespace_entry("mount"));
    if (!sandbox.userns_path.empty()) {
        namespaces.push_back(namespace_entry("user", sandbox.userns_path));
    }
    return namespaces;
}

// runc 1.1 needs the mappings of a user namespace it joins by path (it
// reads them to know the host id of the container's root); crun accepts them.
void add_user_namespace_mappings(const SpecInputs& in, json& linux_section) {
    const auto mapping = sandbox::pod_user_namespace_mapping(*in.pod);
    if (!mapping) {
        throw SpecError("the pod has a user namespace but no userns_options mappings");
    }
    const auto entry = [](const sandbox::IdRange& range) {
        return json::array({{{"containerID", range.container_id},
                             {"hostID", range.host_id},
                             {"size", range.length}}});
    };
    linux_section["uidMappings"] = entry(mapping->uids);
    linux_section["gidMappings"] = entry(mapping->gids);
}

std::string cgroups_path(const SpecInputs& in) {
    std::string parent = in.pod->linux().cgroup_parent();
    if (parent.empty()) {
        parent = in.sandbox->cgroup_parent;
    }
    if (in.config->runtime.cgroup_manager == config::CgroupManager::Systemd) {
        if (parent.empty()) {
            parent = "system.slice";
        }
        if (parent.find('/') != std::string::npos) {
            throw SpecError("linux.cgroup_parent \"" + parent +
                            "\" must be a slice name for the systemd cgroup manager");
        }
        return parent + ":berth:" + in.container_id;
    }
    if (parent.empty()) {
        parent = "/berth";
    }
    if (parent.front() != '/') {
        throw SpecError("linux.cgroup_parent \"" + parent +
                        "\" must be an absolute path for the cgroupfs cgroup manager");
    }
    // A sibling of the pod's own berth-<sandbox id>, as CRI-O places
    // crio-<id> next to the infra container: on cgroup v2 a cgroup holding
    // the pod's init cannot also have children with controllers.
    return normalize(parent + "/berth-" + in.container_id);
}

json resources_section(const SpecInputs& in, bool privileged, json& devices) {
    json resources = json::object();
    json rules = json::array();
    if (privileged) {
        rules.push_back({{"allow", true}, {"access", "rwm"}});
    } else {
        rules.push_back({{"allow", false}, {"access", "rwm"}});
    }
    int index = 0;
    for (const auto& device : in.container->devices()) {
        const std::string field = "devices[" + std::to_string(index++) + "]";
        require_request_path(field + ".container_path", device.container_path());
        require_request_path(field + ".host_path", device.host_path());
        json entry = device_entry(device.host_path(), device.container_path());
        if (entry.is_null()) {
            throw SpecError(field + ".host_path " + quoted_value(device.host_path()) +
                            " is not a character or block device");
        }
        const std::string access = device.permissions().empty() ? "rwm" : device.permissions();
        if (access.find_first_not_of("rwm") != std::string::npos) {
            throw SpecError(field + ".permissions \"" + access + "\" may only hold r, w and m");
        }
        rules.push_back({{"allow", true},
                         {"type", entry["type"]},
                         {"major", entry["major"]},
                         {"minor", entry["minor"]},
                         {"access", access}});
        devices.erase(std::remove_if(devices.begin(), devices.end(),
                                     [&](const json& d) { return d["path"] == entry["path"]; }),
                      devices.end());
        devices.push_back(std::move(entry));
    }
    resources["devices"] = rules;

    if (in.config->runtime.pids_limit > 0) {
        resources["pids"] = {{"limit", in.config->runtime.pids_limit}};
    }
    if (!in.container->linux().has_resources()) {
        return resources;
    }
    const auto& r = in.container->linux().resources();
    json cpu = json::object();
    if (r.cpu_shares() > 0) {
        cpu["shares"] = static_cast<std::uint64_t>(r.cpu_shares());
    }
    if (r.cpu_quota() != 0) {
        cpu["quota"] = r.cpu_quota();
    }
    if (r.cpu_period() > 0) {
        cpu["period"] = static_cast<std::uint64_t>(r.cpu_period());
    }
    if (!r.cpuset_cpus().empty()) {
        cpu["cpus"] = r.cpuset_cpus();
    }
    if (!r.cpuset_mems().empty()) {
        cpu["mems"] = r.cpuset_mems();
    }
    if (!cpu.empty()) {
        resources["cpu"] = cpu;
    }
    if (r.memory_limit_in_bytes() > 0) {
        json memory = {{"limit", r.memory_limit_in_bytes()}};
        // CRI-O: no swap beyond the memory limit unless asked, and only
        // where the kernel accounts swap (runc fails writing memsw otherwise).
        if (memory_swap_supported()) {
            memory["swap"] = r.memory_swap_limit_in_bytes() > 0 ? r.memory_swap_limit_in_bytes()
                                                                : r.memory_limit_in_bytes();
        }
        resources["memory"] = memory;
    }
    if (!r.hugepage_limits().empty()) {
        json limits = json::array();
        for (const auto& limit : r.hugepage_limits()) {
            limits.push_back({{"pageSize", limit.page_size()}, {"limit", limit.limit()}});
        }
        resources["hugepageLimits"] = limits;
    }
    if (!r.unified().empty()) {
        json unified = json::object();
        for (const auto& [key, value] : r.unified()) {
            unified[key] = value;
        }
        resources["unified"] = unified;
    }
    return resources;
}

bool is_ipc_sysctl(const std::string& name) {
    return name == "kernel.sem" || name.rfind("kernel.shm", 0) == 0 ||
           name.rfind("kernel.msg", 0) == 0 || name.rfind("fs.mqueue.", 0) == 0;
}

json sysctls_section(const SpecInputs& in) {
    json sysctls = json::object();
    const bool host_net = host_network(in);
    const bool host_ipc = in.sandbox->ipcns_path.empty();
    for (const auto& entry : in.config->runtime.default_sysctls) {
        const auto equals = entry.find('=');
        if (equals == std::string::npos || equals == 0) {
            throw SpecError("runtime.default_sysctls: \"" + entry + "\" is not name=value");
        }
        std::string name = entry.substr(0, equals);
        name.erase(name.find_last_not_of(" \t") + 1);
        std::string value = entry.substr(equals + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        // As CRI-O: a namespaced default cannot apply to the host's
        // namespace, and must not fail the container either.
        if ((host_net && name.rfind("net.", 0) == 0) || (host_ipc && is_ipc_sysctl(name))) {
            spdlog::debug("container {}: default sysctl {} skipped: host namespace",
                          in.container_id, name);
            continue;
        }
        sysctls[name] = value;
    }
    for (const auto& [name, value] : in.pod->linux().sysctls()) {
        sysctls[name] = value;
    }
    return sysctls;
}

json annotations_section(const SpecInputs& in) {
    json annotations = json::object();
    for (const auto& [key, value] : in.container->annotations()) {
        annotations[key] = value;
    }
    const auto& pod = in.pod->metadata();
    const std::string& container_name = in.container->metadata().name();
    // Set after the request's own so that a request cannot forge them.
    // The grouping pair tells a runtime that the container joins the pod's
    // sandbox task (Kata, containerd's shims and gVisor read it). Only pods
    // of a VM handler have one: an OCI runtime that reads it (runsc) would
    // look for a sandbox that does not exist.
    annotations.erase("io.kubernetes.cri.container-type");
    annotations.erase("io.kubernetes.cri.sandbox-id");
    if (in.sandbox->sandbox_task) {
        annotations["io.kubernetes.cri.container-type"] = "container";
        annotations["io.kubernetes.cri.sandbox-id"] = in.sandbox->id;
    }
    annotations["io.kubernetes.cri.sandbox-name"] = pod.name();
    annotations["io.kubernetes.cri.sandbox-namespace"] = pod.namespace_();
    annotations["io.kubernetes.cri.sandbox-uid"] = pod.uid();
    annotations["io.kubernetes.cri.container-name"] = container_name;
    annotations["io.kubernetes.cri.image-name"] = in.image_name;
    annotations["io.kubernetes.container.name"] = container_name;
    annotations["io.kubernetes.pod.name"] = pod.name();
    annotations["io.kubernetes.pod.namespace"] = pod.namespace_();
    annotations["io.kubernetes.pod.uid"] = pod.uid();
    if (!in.image_ref.empty()) {
        annotations["io.berth.image-ref"] = in.image_ref;
    }
    if (!in.log_path.empty()) {
        annotations["io.berth.log-path"] = in.log_path;
    }
    return annotations;
}

void check_inputs(const SpecInputs& in) {
    if (in.container == nullptr || in.pod == nullptr || in.sandbox == nullptr ||
        in.image == nullptr || in.config == nullptr) {
        throw std::logic_error("build_oci_spec: missing input");
    }
    if (in.rootfs.empty() || in.rootfs.front() != '/') {
        throw std::logic_error("build_oci_spec: rootfs must be absolute");
    }
}

}  // namespace

int own_oom_score_adj() {
    std::ifstream in("/proc/self/oom_score_adj");
    int value = 0;
    in >> value;
    return in ? value : 0;
}

bool memory_swap_supported(const std::string& cgroup_root) {
    std::error_code error;
    const fs::path root(cgroup_root);
    if (fs::exists(root / "memory" / "memory.memsw.limit_in_bytes", error)) {
        return true;  // v1: the memory hierarchy's root has the files
    }
    // v2 (at the root, or beside v1 controllers at "unified"): the root
    // cgroup has no memory.swap.* files of its own; its children have them
    // when the memory controller is enabled for them and swap is accounted.
    for (const fs::path& unified : {root, root / "unified"}) {
        if (!fs::exists(unified / "cgroup.controllers", error)) {
            continue;
        }
        for (fs::directory_iterator child(unified, error), end; !error && child != end;
             child.increment(error)) {
            std::error_code ignored;
            if (child->is_directory(ignored) &&
                fs::exists(child->path() / "memory.swap.max", ignored)) {
                return true;
            }
        }
    }
    return false;
}

json build_oci_spec(const SpecInputs& in) {
    check_inputs(in);
    const auto& context = security_context(in);
    const bool privileged = context.privileged();

    const std::vector<std::string> add(context.capabilities().add_capabilities().begin(),
                                       context.capabilities().add_capabilities().end());
    const std::vector<std::string> drop(context.capabilities().drop_capabilities().begin(),
                                        context.capabilities().drop_capabilities().end());
    const std::vector<std::string> caps =
        privileged ? all_capabilities()
                   : container_capabilities(in.config->runtime.default_capabilities, add, drop);

    json spec = {{"ociVersion", "1.0.2"}};
    spec["process"] = process_section(in, caps);
    spec["root"] = {{"path", in.rootfs}, {"readonly", context.readonly_rootfs()}};
    if (!host_network(in) && !in.pod->hostname().empty()) {
        spec["hostname"] = in.pod->hostname();
    }
    std::string rootfs_propagation;
    spec["mounts"] = mounts_section(in, privileged, rootfs_propagation);
    spec["annotations"] = annotations_section(in);

    json devices = privileged ? host_devices() : json::array();
    json linux_section = {
        {"namespaces", namespaces_section(in)},
        {"cgroupsPath", cgroups_path(in)},
    };
    if (!in.sandbox->userns_path.empty()) {
        add_user_namespace_mappings(in, linux_section);
    }
    linux_section["resources"] = resources_section(in, privileged, devices);
    if (!devices.empty()) {
        linux_section["devices"] = devices;
    }
    const json sysctls = sysctls_section(in);
    if (!sysctls.empty()) {
        linux_section["sysctl"] = sysctls;
    }
    if (!rootfs_propagation.empty()) {
        linux_section["rootfsPropagation"] = rootfs_propagation;
    }
    if (!privileged) {
        const auto& masked = context.masked_paths();
        const auto& readonly = context.readonly_paths();
        linux_section["maskedPaths"] =
            masked.empty() ? json(kMaskedPaths)
                           : json(std::vector<std::string>(masked.begin(), masked.end()));
        linux_section["readonlyPaths"] =
            readonly.empty() ? json(kReadonlyPaths)
                             : json(std::vector<std::string>(readonly.begin(), readonly.end()));
    }
    const json seccomp = container_seccomp(context, privileged, caps,
                                           in.config->runtime.seccomp_use_default_when_empty);
    if (!seccomp.is_null()) {
        linux_section["seccomp"] = seccomp;
    }
    spec["linux"] = linux_section;
    // Last: CDI edits may replace what the request set (env, devices, mounts).
    inject_cdi_devices(in, spec);
    return spec;
}

}  // namespace berth::daemon::container
