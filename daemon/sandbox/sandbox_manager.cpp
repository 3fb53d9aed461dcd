#include "sandbox/sandbox_manager.hpp"

#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "berth/storage/atomic_file.hpp"
#include "derived_file.hpp"
#include "request_paths.hpp"
#include "sandbox/ids.hpp"
#include "sandbox/pod_cgroup.hpp"
#include "sandbox/pod_files.hpp"
#include "sandbox/pod_init_process.hpp"
#include "sandbox/pod_network_checks.hpp"
#include "sandbox/pod_resources.hpp"
#include "sandbox/pod_user_namespace.hpp"
#include "sandbox/rollback.hpp"
#include "sandbox/sandbox_namespaces.hpp"
#include "sandbox/sandbox_network.hpp"
#include "sandbox/sandbox_task_spec.hpp"
#include "sandbox/shm_mount.hpp"
#include "sandbox/user_namespace_mapping.hpp"
#include "sandbox/user_namespace_support.hpp"
#include "status_error.hpp"

namespace berth::daemon::sandbox {

namespace v1 = runtime::v1;

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

const v1::NamespaceOption& namespace_options(const v1::PodSandboxConfig& config) {
    return config.linux().security_context().namespace_options();
}

}  // namespace

SandboxManager::SandboxManager(std::shared_ptr<const config::Config> config,
                               const oci::RuntimeHandlers& handlers,
                               const container::RuntimeSet& runtimes, SandboxStore& store)
    : config_(std::move(config)),
      handlers_(handlers),
      runtimes_(runtimes),
      store_(store),
      pending_("pod sandbox", std::chrono::seconds(config_->api.unclaimed_result_timeout),
               [this](const std::string& id) { undo_unclaimed(id); }) {}

oci::RuntimeImpl* SandboxManager::sandbox_task_runtime(const Sandbox& record) const {
    if (!record.sandbox_task)
        return nullptr;
    try {
        return &runtimes_.get(record.runtime_handler);
    } catch (const StatusError& error) {
        spdlog::warn("pod {}: its sandbox task cannot be reached: {}", record.id, error.what());
        return nullptr;
    }
}

void SandboxManager::validate(const v1::RunPodSandboxRequest& request) const {
    if (!request.has_config()) {
        throw invalid_argument("config is required");
    }
    const auto& config = request.config();
    if (!config.has_metadata()) {
        throw invalid_argument("config.metadata is required");
    }
    const auto& metadata = config.metadata();
    if (metadata.name().empty()) {
        throw invalid_argument("config.metadata.name is required");
    }
    if (metadata.namespace_().empty()) {
        throw invalid_argument("config.metadata.namespace is required");
    }
    if (metadata.uid().empty()) {
        throw invalid_argument("config.metadata.uid is required");
    }
    request_paths::check_pod_paths(config, "config");
    if (const auto problem = hostname_problem(config.hostname()); !problem.empty()) {
        throw invalid_argument("config.hostname " + problem);
    }
    if (handlers_.find(request.runtime_handler()) == nullptr) {
        throw invalid_argument(handlers_.unknown_handler_message(request.runtime_handler()));
    }
    const auto& options = namespace_options(config);
    if (options.network() == v1::TARGET || options.network() == v1::CONTAINER ||
        options.ipc() == v1::TARGET || options.ipc() == v1::CONTAINER) {
        throw invalid_argument("network and IPC namespaces of a pod must be POD or NODE");
    }
    if (options.pid() == v1::TARGET) {
        throw invalid_argument("the PID namespace of a pod must be POD, CONTAINER or NODE");
    }
    if (config.has_dns_config())
        check_dns_config(config.dns_config());
    check_port_mappings(config);
    check_cni_args_metadata(config);
    validate_sysctls(config);
    if (pod_user_namespace_mapping(config)) {
        const std::string problem = user_namespace_problem(
            runtimes_.find(handlers_.resolve_name(request.runtime_handler())),
            config_->root + "/storage");
        if (!problem.empty())
            throw failed_precondition("user namespaces are not supported here: " + problem);
    }
    cgroup_parent_path(config.linux().cgroup_parent(), config_->runtime.cgroup_manager);
}

std::string SandboxManager::run(const v1::RunPodSandboxRequest& request, const Caller& caller) {
    validate(request);
    // "" and the default handler's name make the same pod.
    v1::RunPodSandboxRequest resolved = request;
    resolved.set_runtime_handler(handlers_.resolve_name(request.runtime_handler()));
    const std::string fingerprint = request_fingerprint(resolved);
    const std::string name = sandbox_name(request.config().metadata());
    for (;;) {
        auto turn = pending_.begin(name, fingerprint, caller);
        if (turn.ticket)
            return create(request, fingerprint, *turn.ticket);
        if (!turn.claimed || claim(turn.id, name, fingerprint))
            return turn.id;
        // The kept pod was removed by its id meanwhile: make a new one.
    }
}

bool SandboxManager::claim(const std::string& id, const std::string& name,
                           const std::string& fingerprint) {
    const auto lock = store_.operation_lock(id);
    if (!lock)
        return false;
    std::lock_guard guard(*lock);
    const auto current = store_.get(id);
    if (!current)
        return false;
    if (current->unclaimed_request.empty())
        return true;  // visible already
    Sandbox record = *current;
    record.unclaimed_request.clear();
    // Only a hidden pod becomes ready: one stopped by its id meanwhile stays
    // stopped.
    if (record.state == SandboxState::Creating)
        record.state = SandboxState::Ready;
    try {
        store_.put(record);
    } catch (...) {
        pending_.keep(name, fingerprint, id);
        throw;
    }
    spdlog::info("RunPodSandbox: {} ready as {}, handed to a retry", name, id);
    return true;
}

void SandboxManager::undo_unclaimed(const std::string& id) {
    const auto lock = store_.operation_lock(id);
    if (!lock)
        return;
    std::lock_guard guard(*lock);
    const auto current = store_.get(id);
    if (!current || current->unclaimed_request.empty())
        return;
    Sandbox record = *current;
    try {
        release_everything(record);
    } catch (const std::exception& error) {
        // Forgotten all the same, as at restore: a hidden record would hold
        // the pod's name for good.
        spdlog::error("removing unclaimed pod {} failed, it may have left {}: {}", id,
                      "mounts or an address behind", error.what());
    }
    store_.erase(id);
    spdlog::info("removed unclaimed pod sandbox {} ({})", id, record.name);
}

std::string SandboxManager::create(const v1::RunPodSandboxRequest& request,
                                   const std::string& fingerprint, PendingResults::Ticket& ticket) {
    const auto& config = request.config();
    const auto& options = namespace_options(config);
    const bool host_network = options.network() == v1::NODE;
    const bool host_ipc = options.ipc() == v1::NODE;

    Sandbox record;
    record.id = new_id();
    record.name = sandbox_name(config.metadata());
    record.config = config;
    record.runtime_handler = handlers_.resolve_name(request.runtime_handler());
    record.created_at = now_ns();
    record.state = SandboxState::Creating;
    record.cgroup_parent = config.linux().cgroup_parent();

    // Every path the pod will own is named before anything is created, and
    // the record written: if berthd dies half-way, restore finds a
    // "creating" record and undoes what it names (each undo step accepts
    // that its object was never made).
    const std::string& runroot = config_->runroot;
    if (!host_network) {
        record.netns_path = pod_namespace_path(PodNamespace::Net, runroot, record.id);
        record.utsns_path = pod_namespace_path(PodNamespace::Uts, runroot, record.id);
    }
    if (!host_ipc) {
        record.ipcns_path = pod_namespace_path(PodNamespace::Ipc, runroot, record.id);
        record.shm_path = runroot + "/shm/" + record.id;
    }
    if (options.pid() == v1::POD) {
        record.pidns_path = pod_namespace_path(PodNamespace::Pid, runroot, record.id);
    }
    const std::string parent_path =
        cgroup_parent_path(record.cgroup_parent, config_->runtime.cgroup_manager);
    if (!parent_path.empty()) {
        record.cgroup_path = parent_path + "/berth-" + record.id;
    }
    const auto userns = pod_user_namespace_mapping(config);
    std::unique_lock ranges_guard(user_namespace_ranges_, std::defer_lock);
    if (userns) {
        record.userns_path = pod_user_namespace_path(runroot, record.id);
        ranges_guard.lock();
        check_user_namespace_ranges(record);
    }
    store_.reserve_name(record.name, record.id);
    ticket.reserved(record.id);
    try {
        store_.put(record);
    } catch (...) {
        store_.release_name(record.name, record.id);
        throw;
    }
    if (ranges_guard.owns_lock())
        ranges_guard.unlock();
    // Held until the pod is ready or undone, so that a stop or remove of this
    // id waits for either (the undo steps below run before it is released).
    const auto operation = store_.operation_lock(record.id);
    std::lock_guard operation_guard(*operation);
    Rollback rollback;
    rollback.add("the sandbox record", [this, &record] { store_.erase(record.id); });

    const std::string hostname = pod_hostname(config);
    if (userns) {
        pin_pod_namespaces_in_user_namespace(
            *userns, {record.userns_path, record.netns_path, record.ipcns_path, record.utsns_path},
            hostname);
        rollback.add("the user namespace and the namespaces it owns", [&record] {
            for (const auto* path :
                 {&record.netns_path, &record.ipcns_path, &record.utsns_path, &record.userns_path})
                unpin_pod_namespace(*path);
        });
    }
    if (!host_network && !userns) {
        pin_pod_namespace(PodNamespace::Net, runroot, record.id);
        rollback.add("the network namespace",
                     [&record] { unpin_pod_namespace(record.netns_path); });
        pin_pod_namespace(PodNamespace::Uts, runroot, record.id, hostname);
        rollback.add("the UTS namespace", [&record] { unpin_pod_namespace(record.utsns_path); });
    }
    if (!host_ipc) {
        if (!userns) {
            pin_pod_namespace(PodNamespace::Ipc, runroot, record.id);
            rollback.add("the IPC namespace",
                         [&record] { unpin_pod_namespace(record.ipcns_path); });
        }
        mount_shm(record.shm_path);
        rollback.add("the shm mount", [&record] { unmount_and_remove(record.shm_path); });
    }

    const std::string dir = store_.directory_of(record.id);
    record.resolv_conf_path = dir + "/resolv.conf";
    write_derived_file(
        record.resolv_conf_path,
        resolv_conf_content(config.has_dns_config() ? &config.dns_config() : nullptr), 0644);
    record.hostname_path = dir + "/hostname";
    write_derived_file(record.hostname_path, hostname + "\n", 0644);
    apply_sysctls(record);
    if (!parent_path.empty()) {
        enter_pod_cgroup(parent_path, record.id, 0);
        rollback.add("the pod cgroup", [&record] { remove_pod_cgroup(record.cgroup_path); });
    }
    oci::RuntimeImpl* runtime = runtimes_.find(record.runtime_handler);
    if (runtime != nullptr && runtime->runs_sandbox_task()) {
        // The runtime's sandbox task is the pod's init (and, with Kata, its VM).
        const std::string rootfs = dir + "/rootfs";
        std::filesystem::create_directories(rootfs);
        write_derived_file(dir + "/config.json",
                           sandbox_task_spec(record, rootfs, find_pod_init_binary(),
                                             config_->runtime.cgroup_manager)
                               .dump(2),
                           0600);
        record.sandbox_task = true;
        store_.put(record);  // so that restore removes the task
        rollback.add("the sandbox task",
                     [runtime, &record] { runtime->remove_sandbox(record.id); });
        const int pid = runtime->start_sandbox({record.id, dir});
        if (options.pid() == v1::POD) {
            pin_process_namespace(PodNamespace::Pid, pid, runroot, record.id);
            rollback.add("the PID namespace",
                         [&record] { unpin_pod_namespace(record.pidns_path); });
        }
    } else if (options.pid() == v1::POD) {
        const PodInit init = start_pod_init(find_pod_init_binary(), record);
        record.init_pid = init.pid;
        record.init_start_time = init.start_time;
        rollback.add("the pod init process", [init] { stop_pod_init(init); });
        store_.put(record);  // so that restore can stop it
        if (!parent_path.empty()) {
            enter_pod_cgroup(parent_path, record.id, init.pid);
        }
        pin_process_namespace(PodNamespace::Pid, init.pid, runroot, record.id);
        rollback.add("the PID namespace", [&record] { unpin_pod_namespace(record.pidns_path); });
    }
    // No write here: every path created so far was named in the first record
    // (and the init in its own), and each write costs two fsyncs.

    if (!host_network) {
        // Recorded as attached before ADD starts: a plugin that fails half-way,
        // or a daemon that dies during ADD, may leave an address or rules
        // behind, and DEL (harmless for what was never added) releases them.
        record.cni_config = load_pod_network(*config_);
        record.network_name = record.cni_config["name"].get<std::string>();
        record.network_attached = true;
        store_.put(record);
        rollback.add("the CNI network", [this, &record] { detach_network(*config_, record); });
        auto attachment = attach_network(*config_, record);
        record.cni_result = attachment.cni_result;
        record.ip = attachment.ip;
        record.additional_ips = attachment.additional_ips;
    }
    record.hosts_path = dir + "/hosts";
    write_derived_file(record.hosts_path, hosts_content(hostname, record.ip), 0644);

    // The answer reaches no one when kubelet gave up (its runtime request
    // timeout) and nobody asks again yet: the pod then stays hidden, as if
    // still being created, until its retry takes it.
    const bool answered = ticket.answer_wanted();
    if (answered)
        record.state = SandboxState::Ready;
    else
        record.unclaimed_request = fingerprint;
    store_.put(record);
    rollback.commit();
    if (!answered) {
        ticket.kept(record.id);
        spdlog::warn("RunPodSandbox: {} ready as {}, but its caller is gone; kept {} s for a retry",
                     record.name, record.id, config_->api.unclaimed_result_timeout);
        throw StatusError(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "pod sandbox " + record.id + " became ready after the caller left");
    }
    ticket.answered(record.id);
    spdlog::info("RunPodSandbox: {} ready as {} (ip {})", record.name, record.id,
                 record.ip.empty() ? "host network" : record.ip);
    return record.id;
}

void SandboxManager::release_network(Sandbox& record) {
    if (!record.network_attached) {
        return;
    }
    detach_network(*config_, record);
    record.network_attached = false;
}

void SandboxManager::stop_locked(const std::string& id) {
    auto current = store_.get(id);
    if (!current) {
        return;
    }
    Sandbox record = *current;
    if (auto* runtime = sandbox_task_runtime(record))
        runtime->stop_sandbox(record.id);
    release_network(record);
    stop_init(record);
    if (!record.shm_path.empty()) {
        unmount_and_remove(record.shm_path);
    }
    if (record.state != SandboxState::NotReady || current->network_attached ||
        current->init_pid != 0) {
        record.state = SandboxState::NotReady;
        store_.put(record);
        spdlog::info("StopPodSandbox: {} stopped", record.name);
    }
}

template <typename Body>
void SandboxManager::with_sandbox_locked(const std::string& id_or_prefix, Body&& body) {
    std::string id;
    try {
        id = store_.resolve(id_or_prefix);
    } catch (const StatusError& error) {
        if (error.code() != grpc::StatusCode::NOT_FOUND) {
            throw;
        }
        // Stopping or removing what is already gone succeeds (CRI: both are
        // idempotent, and kubelet retries them).
        return;
    }
    auto lock = store_.operation_lock(id);
    if (!lock) {
        return;
    }
    std::lock_guard guard(*lock);
    if (store_.get(id)) {
        body(id);
    }
}

void SandboxManager::update_resources(const std::string& id_or_prefix,
                                      const runtime::v1::LinuxContainerResources& overhead,
                                      const runtime::v1::LinuxContainerResources& resources) {
    const std::string id = store_.resolve(id_or_prefix);
    const auto total = pod_level_resources(overhead, resources);
    const auto lock = store_.operation_lock(id);
    if (!lock)
        throw not_found("pod sandbox \"" + id_or_prefix + "\" not found");
    std::lock_guard guard(*lock);
    const auto current = store_.get(id);
    if (!current || current->state == SandboxState::Creating)
        throw not_found("pod sandbox \"" + id_or_prefix + "\" not found");
    const auto written = apply_pod_resources(current->cgroup_path, total, cgroup_hierarchies());
    Sandbox record = *current;
    // The request is the whole new state: what it leaves out is gone.
    auto* linux = record.config.mutable_linux();
    linux->clear_overhead();
    linux->clear_resources();
    if (overhead.ByteSizeLong() != 0)
        *linux->mutable_overhead() = overhead;
    if (resources.ByteSizeLong() != 0)
        *linux->mutable_resources() = resources;
    store_.put(record);
    spdlog::info("pod {}: resources updated ({} cgroup files written)", id, written.size());
}

void SandboxManager::stop(const std::string& id_or_prefix) {
    with_sandbox_locked(id_or_prefix, [this](const std::string& id) { stop_locked(id); });
}

void SandboxManager::stop_init(Sandbox& record) {
    if (record.init_pid != 0) {
        stop_pod_init({record.init_pid, record.init_start_time});
        record.init_pid = 0;
        record.init_start_time = 0;
    }
}

void SandboxManager::release_everything(Sandbox& record) {
    if (auto* runtime = sandbox_task_runtime(record))
        runtime->remove_sandbox(record.id);
    release_network(record);
    stop_init(record);
    unmount_and_remove(record.shm_path);
    for (const auto& path : {record.netns_path, record.utsns_path, record.ipcns_path,
                             record.pidns_path, record.userns_path}) {
        if (!path.empty()) {
            unpin_pod_namespace(path);
        }
    }
    remove_pod_cgroup(record.cgroup_path);
}

void SandboxManager::check_user_namespace_ranges(const Sandbox& record) const {
    const auto mine = pod_user_namespace_mapping(record.config);
    for (const auto& other : store_.list()) {
        if (other->userns_path.empty() || other->id == record.id)
            continue;
        std::optional<UserNamespaceMapping> theirs;
        try {
            theirs = pod_user_namespace_mapping(other->config);
        } catch (const StatusError&) {
            continue;  // stored configs were checked when they were made
        }
        if (!theirs)
            continue;
        if (const auto field = overlapping_host_range(*mine, *theirs); !field.empty()) {
            throw invalid_argument(
                "config.linux.security_context.namespace_options.userns_options." + field +
                ": the host id range overlaps that of pod " + other->id + " (" + other->name + ")");
        }
    }
}

void SandboxManager::remove(const std::string& id_or_prefix) {
    with_sandbox_locked(id_or_prefix, [this](const std::string& id) {
        stop_locked(id);
        Sandbox record = *store_.get(id);
        release_everything(record);
        store_.erase(id);
        spdlog::info("RemovePodSandbox: {} removed", record.name);
    });
}

bool SandboxManager::on_task_exit(const std::string& id) {
    if (!store_.get(id))
        return false;
    // Never waits: this runs on the exit watcher's only thread. A pod whose
    // lock is held is being stopped or removed, which the exit asks for.
    const auto lock = store_.operation_lock(id);
    if (lock && lock->try_lock()) {
        std::lock_guard guard(*lock, std::adopt_lock);
        if (const auto current = store_.get(id);
            current && current->sandbox_task && current->state == SandboxState::Ready) {
            Sandbox record = *current;
            record.state = SandboxState::NotReady;
            store_.put(record);
            spdlog::warn("pod {}: its sandbox task ended; the pod is not ready any more", id);
        }
    }
    std::error_code ignored;
    std::filesystem::remove(config_->runroot + "/exits/" + id, ignored);
    return true;
}

bool SandboxManager::pod_alive(const Sandbox& record) const {
    const bool namespaces_alive =
        (record.netns_path.empty() || pod_namespace_pinned(record.netns_path, PodNamespace::Net)) &&
        (record.ipcns_path.empty() || pod_namespace_pinned(record.ipcns_path, PodNamespace::Ipc)) &&
        (record.userns_path.empty() || user_namespace_pinned(record.userns_path)) &&
        (record.init_pid == 0 || pod_init_running({record.init_pid, record.init_start_time}));
    if (!namespaces_alive || !record.sandbox_task)
        return namespaces_alive;
    auto* runtime = sandbox_task_runtime(record);
    return runtime != nullptr && runtime->sandbox_alive(record.id);
}

void SandboxManager::restore() {
    std::vector<std::string> problems;
    store_.load(problems);
    for (const auto& problem : problems) {
        spdlog::error("restore: skipping an unreadable sandbox record: {}", problem);
    }
    int ready = 0;
    int not_ready = 0;
    int kept = 0;
    for (const auto& current : store_.list()) {
        Sandbox record = *current;
        try {
            if (record.state == SandboxState::Creating && !record.unclaimed_request.empty() &&
                pod_alive(record)) {
                // Its call ended while berthd stopped, after the caller left:
                // the retry after this start gets it (or the timer undoes it).
                pending_.keep(record.name, record.unclaimed_request, record.id);
                ++kept;
                continue;
            }
            if (record.state == SandboxState::Creating) {
                spdlog::warn("restore: {} was being created when berthd stopped; cleaning it up",
                             record.id);
                try {
                    release_everything(record);
                } catch (const std::exception& error) {
                    // Forgotten all the same: a hidden record would hold the
                    // pod's name and fail kubelet's retries forever.
                    spdlog::error("restore: cleaning up {} failed, it may have left {}: {}",
                                  record.id, "mounts or an address behind", error.what());
                }
                store_.erase(record.id);
                continue;
            }
            if (record.state == SandboxState::Ready && !pod_alive(record)) {
                // After a reboot: the pod is gone, its record stays until
                // kubelet stops and removes it (which runs CNI DEL).
                record.state = SandboxState::NotReady;
                store_.put(record);
            }
            (record.state == SandboxState::Ready ? ready : not_ready)++;
        } catch (const std::exception& error) {
            spdlog::error("restore: sandbox {}: {}", record.id, error.what());
        }
    }
    spdlog::info("restore: {} pod sandboxes ready, {} not ready, {} kept for a retry", ready,
                 not_ready, kept);
}

}  // namespace berth::daemon::sandbox
