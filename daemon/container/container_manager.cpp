#include "container/container_manager.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "berth/storage/atomic_file.hpp"
#include "berth/storage/reference.hpp"
#include "container/checkpoint.hpp"
#include "container/container_user_namespace.hpp"
#include "container/image_mounts.hpp"
#include "container/spec/oci_spec.hpp"
#include "container/stop_signal.hpp"
#include "derived_file.hpp"
#include "request_paths.hpp"
#include "sandbox/ids.hpp"
#include "sandbox/pod_resources.hpp"
#include "sandbox/rollback.hpp"
#include "sandbox/user_namespace_mapping.hpp"
#include "status_error.hpp"

namespace berth::daemon::container {
namespace fs = std::filesystem;
namespace v1 = runtime::v1;

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// unified["pids.max"] as the OCI pids limit: "max" is -1 (no limit).
std::int64_t pids_limit(const std::string& text) {
    if (text == "max")
        return -1;
    std::int64_t limit = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (error != std::errc() || end != text.data() + text.size() || limit <= 0) {
        throw invalid_argument("unified[\"pids.max\"] \"" + text +
                               "\" must be \"max\" or a positive number of tasks");
    }
    return limit;
}

// A monitor writes the exit file before it exits: once it is gone, an exit
// file that has not appeared after this long never will.
constexpr auto kMonitorExitGrace = std::chrono::milliseconds(500);

}  // namespace

ContainerManager::ContainerManager(ConfigHolder& config, const sandbox::SandboxStore& sandboxes,
                                   storage::ImageStorage& images, const RuntimeSet& runtimes,
                                   ContainerStore& store, events::EventBus* events)
    : config_(config),
      sandboxes_(sandboxes),
      images_(images),
      runtimes_(runtimes),
      store_(store),
      events_(events),
      monitors_(
          kMonitorExitGrace,
          [this](const std::string&) {
              // A stop waiting for the exit file learns at once that none
              // will come.
              std::lock_guard lock(exits_mutex_);
              exits_arrived_.notify_all();
          },
          [this](const std::string& id) { return on_monitor_lost(id); }),
      pending_("container", std::chrono::seconds(config.current()->api.unclaimed_result_timeout),
               [this](const std::string& id) { undo_unclaimed(id); }) {}

void ContainerManager::publish(events::ContainerEventType type, const std::string& id,
                               const std::string& sandbox_id) {
    if (events_ == nullptr)
        return;
    try {
        auto event = std::make_shared<events::ContainerEvent>();
        event->type = type;
        event->container_id = id;
        event->sandbox_id = sandbox_id;
        event->created_at = now_ns();
        event->sandbox = sandboxes_.get(sandbox_id);
        for (auto& record : store_.list()) {
            if (record->sandbox_id == sandbox_id && record->state != ContainerState::Creating)
                event->containers.push_back(std::move(record));
        }
        events_->publish(std::move(event));
    } catch (const std::exception& error) {
        // An event is a notification: losing one must not fail the operation
        // that already happened.
        spdlog::warn("container {}: publishing its {} event: {}", id, events::to_string(type),
                     error.what());
    }
}

template <typename Body>
void ContainerManager::with_container_locked(const std::string& id, Body&& body) {
    const auto lock = store_.operation_lock(id);
    if (!lock)
        throw not_found("container \"" + id + "\" not found");
    std::lock_guard guard(*lock);
    // A RemoveContainer that held the lock before us may have erased the
    // record; once we hold the lock and it exists, it stays.
    if (!store_.get(id))
        throw not_found("container \"" + id + "\" not found");
    body();
}

int ContainerManager::pid_of(const std::string& id) const {
    const auto record = store_.get(id);
    return record && record->state == ContainerState::Running ? record->pid : 0;
}

ContainerManager::LogLocation ContainerManager::log_location(
    const v1::ContainerConfig& config, const v1::PodSandboxConfig& pod) const {
    // Both checked by create(): an absolute directory, a relative path
    // without "..", names without "/". What lies on disk beneath the
    // directory is berth-conmon's to refuse when it opens the file there.
    LogLocation location;
    if (!pod.log_directory().empty() && !config.log_path().empty()) {
        location.directory = fs::path(pod.log_directory()).lexically_normal().string();
        location.path = (fs::path(location.directory) / config.log_path()).lexically_normal();
    } else {
        // kubelet always sends both; other clients get CRI-O's layout under
        // log_dir so that their logs are still kept.
        const auto& meta = pod.metadata();
        location.directory = fs::path(config_.current()->log_dir).lexically_normal().string();
        location.path = location.directory + "/" + meta.namespace_() + "_" + meta.name() + "_" +
                        meta.uid() + "/" + config.metadata().name() + "/" +
                        std::to_string(config.metadata().attempt()) + ".log";
    }
    while (location.directory.size() > 1 && location.directory.back() == '/')
        location.directory.pop_back();
    return location;
}

std::string ContainerManager::create(const v1::CreateContainerRequest& request,
                                     const Caller& caller) {
    const auto& config = request.config();
    if (config.metadata().name().empty())
        throw invalid_argument("container name (metadata.name) is empty");
    if (config.image().image().empty())
        throw invalid_argument("no image given (image.image)");
    request_paths::check_container_log_paths(config);
    // '_' separates the parts of the container's name (container_name()).
    if (config.metadata().name().find('_') != std::string::npos) {
        throw invalid_argument("config.metadata.name " + quoted_value(config.metadata().name()) +
                               " must not contain '_'");
    }
    const auto sandbox = sandboxes_.get(sandboxes_.resolve(request.pod_sandbox_id()));
    if (!sandbox || sandbox->state == sandbox::SandboxState::Creating) {
        throw not_found("pod sandbox \"" + request.pod_sandbox_id() + "\" not found");
    }
    // The pod as it was run (a record from an older berthd was never
    // checked): its log directory and names make the log's path.
    request_paths::check_pod_paths(sandbox->config, "sandbox_config");
    if (sandbox->state != sandbox::SandboxState::Ready) {
        throw failed_precondition("pod sandbox " + sandbox->id + " is not ready");
    }
    if (config.linux().has_resources())
        sandbox::validate_linux_resources(config.linux().resources(), "config.linux.resources");
    sandbox::check_container_user_namespace(
        config, sandbox->userns_path.empty()
                    ? std::nullopt
                    : sandbox::pod_user_namespace_mapping(sandbox->config));
    const auto settings = config_.current();
    const auto image = images_.find(config.image().image(), settings->image);
    if (!image) {
        // Not there, or not a name at all: kubelet pulls for the first and
        // must not for the second.
        const std::string& name = config.image().image();
        const bool hex_id =
            name.find_first_not_of("0123456789abcdef", name.rfind("sha256:", 0) == 0 ? 7 : 0) ==
            std::string::npos;
        if (!hex_id) {
            try {
                storage::parse_reference(name);
            } catch (const storage::ReferenceError& error) {
                throw invalid_argument("image.image " + quoted_value(name) +
                                       " is not an image reference: " + error.what());
            }
        }
        throw not_found("image " + quoted_value(name) + " not found");
    }
    auto& runtime = runtimes_.get(sandbox->runtime_handler);
    // The config's stop signal overrides the image's STOPSIGNAL.
    const std::string stop_signal =
        stop_signal_in_force(config.stop_signal(), image->config.stop_signal);
    // Images to mount, pulled already (kubelet pulls them first).
    const auto image_mounts = image_mount_requests(config);
    std::vector<std::string> image_mount_ids;
    for (const auto& wanted : image_mounts) {
        const auto found = images_.find(wanted.image, settings->image);
        if (!found) {
            throw not_found("config.mounts[" + std::to_string(wanted.index) + "].image " +
                            quoted_value(wanted.image) + " not found");
        }
        image_mount_ids.push_back(found->id);
    }

    // Retries are recognised by what makes the container: its config in its
    // pod (by full id, whatever prefix was sent). sandbox_config is left
    // out: the pod's own record is what the container is built from, and
    // kubelet recomputes it for every attempt.
    const std::string name = container_name(config.metadata(), sandbox->config.metadata());
    v1::CreateContainerRequest resolved = request;
    resolved.set_pod_sandbox_id(sandbox->id);
    resolved.clear_sandbox_config();
    const std::string fingerprint = request_fingerprint(resolved);
    std::optional<PendingResults::Ticket> ticket;
    for (;;) {
        auto turn = pending_.begin(name, fingerprint, caller);
        if (turn.ticket) {
            ticket.emplace(std::move(*turn.ticket));
            break;
        }
        if (!turn.claimed || claim(turn.id, name, fingerprint))
            return turn.id;
        // The kept container went with its pod meanwhile: make a new one.
    }

    Container record;
    record.id = new_id();
    record.name = name;
    record.sandbox_id = sandbox->id;
    record.runtime_handler = sandbox->runtime_handler;
    record.config = config;
    record.image_id = image->id;
    record.image_ref = image->repo_digests.empty() ? image->id : image->repo_digests.front();
    record.stop_signal = stop_signal;
    record.created_at = now_ns();
    record.bundle = store_.directory_of(record.id);
    const LogLocation log = log_location(config, sandbox->config);
    record.log_path = log.path;

    sandbox::Rollback rollback;
    store_.reserve_name(record.name, record.id);
    ticket->reserved(record.id);
    rollback.add("reserving the name", [&] { store_.release_name(record.name, record.id); });
    // Creating is on disk before anything else exists, so that restore can
    // undo a crash at any later step.
    store_.put(record);
    rollback.add("the record", [&] { store_.erase(record.id); });

    const auto idmap = rootfs_idmap(*sandbox);
    const auto rootfs = images_.create_rootfs(record.id, image->id, false, settings->image, idmap);
    record.rootfs = rootfs.mount_point.string();
    rollback.add("the root filesystem", [&] { images_.release_rootfs(record.id); });

    SpecInputs inputs;
    for (std::size_t i = 0; i < image_mounts.size(); ++i) {
        const int index = image_mounts[i].index;
        const auto mounted = images_.mount_image(record.id, static_cast<std::size_t>(index),
                                                 image_mount_ids[i], settings->image, idmap);
        inputs.image_mount_sources[index] =
            resolve_image_sub_path(mounted.mount_point.string(), image_mounts[i].sub_path,
                                   "config.mounts[" + std::to_string(index) + "].image_sub_path");
    }
    inputs.container_id = record.id;
    inputs.container = &config;
    inputs.pod = &sandbox->config;
    inputs.sandbox = sandbox.get();
    inputs.image = &image->config;
    inputs.image_name = config.image().image();
    inputs.image_ref = record.image_ref;
    inputs.rootfs = record.rootfs;
    inputs.container_dir = record.bundle;
    inputs.config = settings.get();
    inputs.log_path = record.log_path;
    inputs.recursive_read_only_mounts = runtime.features().recursive_read_only_mounts;
    const auto& namespaces = config.linux().security_context().namespace_options();
    if (namespaces.pid() == v1::TARGET) {
        const int target = pid_of(store_.resolve(namespaces.target_id()));
        if (target == 0)
            throw failed_precondition("target container " + namespaces.target_id() +
                                      " is not running");
        inputs.target_pid_ns = "/proc/" + std::to_string(target) + "/ns/pid";
    }
    nlohmann::json spec;
    try {
        spec = build_oci_spec(inputs);
    } catch (const SpecError& error) {
        throw invalid_argument(error.what());
    }
    if (idmap)
        idmap_volume_mounts(spec, config, record.id, images_);
    write_derived_file(record.bundle + "/config.json", spec.dump(2), 0600);
    record.user = spec_process_user(spec);
    // The directory the request named (or log_dir) is trusted as a whole;
    // what is beneath it berth-conmon creates without following links.
    fs::create_directories(log.directory);

    oci::CreateOptions options;
    options.id = record.id;
    options.sandbox_id = sandbox->id;
    options.bundle = record.bundle;
    options.log_directory = log.directory;
    options.log_path = record.log_path;
    options.log_size_max = settings->runtime.log_size_max;
    options.stdin = config.stdin();
    options.stdin_once = config.stdin_once();
    options.terminal = config.tty();
    rollback.add("the runtime's container", [&] { runtime.remove(record.id); });
    record.pid = runtime.create(options);

    // The answer reaches no one when kubelet gave up (its runtime request
    // timeout) and nobody asks again yet: the container then stays hidden,
    // as if still being created, until its retry takes it.
    const bool answered = ticket->answer_wanted();
    if (answered)
        record.state = ContainerState::Created;
    else
        record.unclaimed_request = fingerprint;
    {
        // Under the container's lock, so that a StartContainer racing in with
        // the new id cannot publish its event before this one.
        const auto lock = store_.operation_lock(record.id);
        std::lock_guard guard(*lock);
        store_.put(record);
        if (answered)
            publish(events::ContainerEventType::Created, record.id, record.sandbox_id);
        watch_monitor_locked(record.id);
    }
    rollback.commit();
    if (!answered) {
        ticket->kept(record.id);
        spdlog::warn(
            "created container {} ({}) in pod {}, but its caller is gone; kept {} s for "
            "a retry",
            record.id, record.name, sandbox->id, settings->api.unclaimed_result_timeout);
        throw StatusError(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "container " + record.id + " was created after the caller left");
    }
    ticket->answered(record.id);
    spdlog::info("created container {} ({}) in pod {}", record.id, record.name, sandbox->id);
    return record.id;
}

bool ContainerManager::claim(const std::string& id, const std::string& name,
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
    Container record = *current;
    record.unclaimed_request.clear();
    // Only a hidden container becomes created: one whose process died
    // meanwhile (its exit recorded) stays exited.
    if (record.state == ContainerState::Creating)
        record.state = ContainerState::Created;
    try {
        store_.put(record);
    } catch (...) {
        pending_.keep(name, fingerprint, id);
        throw;
    }
    publish(events::ContainerEventType::Created, id, record.sandbox_id);
    spdlog::info("created container {} ({}), handed to a retry", id, name);
    return true;
}

void ContainerManager::undo_unclaimed(const std::string& id) {
    const auto lock = store_.operation_lock(id);
    if (!lock)
        return;
    std::lock_guard guard(*lock);
    const auto record = store_.get(id);
    if (!record || record->unclaimed_request.empty())
        return;
    try {
        runtimes_.get(record->runtime_handler).remove(id);
        images_.release_rootfs(id);
    } catch (const std::exception& error) {
        // Forgotten all the same: a hidden record would hold the name for
        // good, and restore undoes no record it does not have.
        spdlog::error("removing unclaimed container {} failed: {}", id, error.what());
    }
    store_.erase(id);
    {
        std::lock_guard exits(exits_mutex_);
        exits_seen_.erase(id);
    }
    spdlog::info("removed unclaimed container {} ({})", id, record->name);
}

void ContainerManager::start(const std::string& id_or_prefix) {
    const std::string id = store_.resolve(id_or_prefix);
    with_container_locked(id, [&] {
        Container record = *store_.get(id);
        if (record.state != ContainerState::Created) {
            throw failed_precondition("container " + id + " is " + to_string(record.state) +
                                      ", not created");
        }
        try {
            runtimes_.get(record.runtime_handler).start(id);
        } catch (const oci::RuntimeError& error) {
            // The container may still exist (a start that timed out): make
            // sure nothing runs under a record that says it exited.
            try {
                runtimes_.get(record.runtime_handler).stop(id, SIGKILL, std::chrono::seconds(0));
            } catch (const std::exception& kill_error) {
                spdlog::warn("killing {} after a failed start: {}", id, kill_error.what());
            }
            record.state = ContainerState::Exited;
            record.finished_at = now_ns();
            record.exit_code = 128;
            record.reason = "ContainerCannotRun";
            record.message = error.what();
            store_.put(record);
            publish(events::ContainerEventType::Stopped, id, record.sandbox_id);
            throw;
        }
        record.state = ContainerState::Running;
        record.started_at = now_ns();
        store_.put(record);
        publish(events::ContainerEventType::Started, id, record.sandbox_id);
    });
    // An exit that arrived meanwhile waited for the lock in on_exit and is
    // recorded now.
}

bool ContainerManager::wait_for_exit_file(const std::string& id,
                                          std::chrono::milliseconds timeout) {
    const auto exit_file =
        runtimes_.get(store_.get(id)->runtime_handler).monitor_paths(id).exit_file;
    std::unique_lock lock(exits_mutex_);
    return exits_arrived_.wait_for(lock, timeout, [&] {
        std::error_code ignored;
        return exits_seen_.count(id) != 0 || fs::exists(exit_file, ignored) || monitors_.exited(id);
    });
}

void ContainerManager::stop_locked(const std::string& id, std::int64_t timeout_seconds) {
    const auto record = store_.get(id);
    if (record->state != ContainerState::Running && record->state != ContainerState::Created)
        return;
    if (record_exit_locked(id))
        return;  // it ended already
    auto& runtime = runtimes_.get(record->runtime_handler);
    runtime.stop(id, stop_signal_number(record->stop_signal),
                 std::chrono::seconds(std::max<std::int64_t>(timeout_seconds, 0)));
    // The monitor writes the exit file once the logs are drained: normally
    // milliseconds after the process went.
    if (wait_for_exit_file(id, std::chrono::seconds(10)) && record_exit_locked(id))
        return;
    if (monitors_.exited(id)) {
        settle_lost_monitor_locked(id);
        return;
    }
    mark_lost_locked(id, "the container was stopped but its monitor reported no exit");
}

void ContainerManager::stop_for_removal_locked(const std::string& id) {
    try {
        stop_locked(id, 0);
    } catch (const oci::RuntimeError& error) {
        // What runs the container is gone or hung (a VM runtime's shim):
        // removing must still work, and the runtime's remove cleans up
        // without it.
        if (error.kind() != oci::RuntimeErrorKind::DeadlineExceeded &&
            error.kind() != oci::RuntimeErrorKind::Unavailable)
            throw;
        const auto record = store_.get(id);
        if (record->state == ContainerState::Running || record->state == ContainerState::Created)
            mark_lost_locked(id, error.what());
    }
}

void ContainerManager::stop(const std::string& id_or_prefix, std::int64_t timeout_seconds) {
    // An unknown id is stopped already (kubelet retries a stop whose answer
    // it lost, after the remove went through): success, as CRI-O answers.
    const std::string id = store_.resolve_if_known(id_or_prefix);
    if (id.empty())
        return;
    try {
        with_container_locked(id, [&] { stop_locked(id, timeout_seconds); });
    } catch (const StatusError& error) {
        if (error.code() != grpc::StatusCode::NOT_FOUND)
            throw;  // removed meanwhile: stopped too
    }
}

void ContainerManager::remove(const std::string& id_or_prefix) {
    const std::string id = store_.resolve_if_known(id_or_prefix);
    if (id.empty())
        return;  // already gone: fine
    const auto lock = store_.operation_lock(id);
    if (!lock)
        return;
    std::lock_guard guard(*lock);
    const auto record = store_.get(id);
    if (!record)
        return;
    stop_for_removal_locked(id);
    runtimes_.get(record->runtime_handler).remove(id);
    images_.release_rootfs(id);
    store_.erase(id);
    monitors_.forget(id);
    {
        std::lock_guard exits(exits_mutex_);
        exits_seen_.erase(id);
    }
    publish(events::ContainerEventType::Deleted, id, record->sandbox_id);
    spdlog::info("removed container {}", id);
}

void ContainerManager::stop_all_in(const std::string& sandbox_id) {
    for (const auto& record : store_.list()) {
        if (record->sandbox_id == sandbox_id) {
            try {
                with_container_locked(record->id, [&] { stop_for_removal_locked(record->id); });
            } catch (const StatusError& error) {
                if (error.code() != grpc::StatusCode::NOT_FOUND)
                    throw;  // removed meanwhile: nothing to stop
            }
        }
    }
}

void ContainerManager::remove_all_in(const std::string& sandbox_id) {
    for (const auto& record : store_.list()) {
        if (record->sandbox_id == sandbox_id)
            remove(record->id);
    }
}

oci::ExecSyncResult ContainerManager::exec_sync(const std::string& id_or_prefix,
                                                const std::vector<std::string>& command,
                                                std::int64_t timeout_seconds) {
    if (command.empty() || command.front().empty()) {
        throw invalid_argument("no command given (cmd)");
    }
    const std::string id = store_.resolve(id_or_prefix);
    const auto record = store_.get(id);
    if (!record || record->state != ContainerState::Running) {
        throw failed_precondition("container " + id + " is not running");
    }
    return runtimes_.get(record->runtime_handler)
        .exec_sync(id, command, std::chrono::seconds(std::max<std::int64_t>(timeout_seconds, 0)));
}

void ContainerManager::reopen_log(const std::string& id_or_prefix) {
    const std::string id = store_.resolve(id_or_prefix);
    with_container_locked(id, [&] {
        const auto record = store_.get(id);
        if (record->state != ContainerState::Running) {
            throw failed_precondition("container " + id + " is not running");
        }
        runtimes_.get(record->runtime_handler).reopen_log(id);
        // The monitor reopens asynchronously; log rotators expect the new
        // file once the call returns, so wait for it (briefly).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        std::error_code ignored;
        // Not followed: a link planted where the log was is what the monitor
        // refuses to open, and the caller must hear of it.
        auto found = fs::symlink_status(record->log_path, ignored);
        while (!fs::exists(found) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            found = fs::symlink_status(record->log_path, ignored);
        }
        if (fs::exists(found) && !fs::is_regular_file(found)) {
            throw failed_precondition("the log " + quoted_value(record->log_path) +
                                      " of container " + id +
                                      " is not a regular file (a symbolic link is never "
                                      "followed): the log was not reopened");
        }
    });
}

void ContainerManager::update_resources(const std::string& id_or_prefix,
                                        const v1::LinuxContainerResources& resources) {
    sandbox::validate_linux_resources(resources, "linux");
    const std::string id = store_.resolve(id_or_prefix);
    with_container_locked(id, [&] {
        Container record = *store_.get(id);
        if (record.state != ContainerState::Running && record.state != ContainerState::Created) {
            throw failed_precondition("container " + id + " is " + to_string(record.state));
        }
        nlohmann::json linux;
        if (resources.cpu_shares() > 0)
            linux["cpu"]["shares"] = resources.cpu_shares();
        if (resources.cpu_quota() != 0)
            linux["cpu"]["quota"] = resources.cpu_quota();
        if (resources.cpu_period() > 0)
            linux["cpu"]["period"] = resources.cpu_period();
        if (!resources.cpuset_cpus().empty())
            linux["cpu"]["cpus"] = resources.cpuset_cpus();
        if (!resources.cpuset_mems().empty())
            linux["cpu"]["mems"] = resources.cpuset_mems();
        if (resources.memory_limit_in_bytes() > 0) {
            linux["memory"]["limit"] = resources.memory_limit_in_bytes();
            linux["memory"]["swap"] = resources.memory_swap_limit_in_bytes() > 0
                                          ? resources.memory_swap_limit_in_bytes()
                                          : resources.memory_limit_in_bytes();
        }
        for (const auto& hugepage : resources.hugepage_limits()) {
            linux["hugepageLimits"].push_back(
                {{"pageSize", hugepage.page_size()}, {"limit", hugepage.limit()}});
        }
        for (const auto& [key, value] : resources.unified()) {
            // pids.max has an OCI field of its own, which runc applies on
            // cgroup v1 as well (it refuses every "unified" key there).
            if (key == "pids.max") {
                linux["pids"]["limit"] = pids_limit(value);
                continue;
            }
            linux["unified"][key] = value;
        }
        runtimes_.get(record.runtime_handler).update_resources(id, linux);
        *record.config.mutable_linux()->mutable_resources() = resources;
        store_.put(record);
    });
}

void ContainerManager::checkpoint(const std::string& id_or_prefix, const std::string& location,
                                  std::int64_t timeout_seconds) {
    if (location.empty())
        throw invalid_argument("no archive path given (location)");
    request_paths::require_absolute_path("location", location);
    const std::string id = store_.resolve(id_or_prefix);
    // Under the container's lock: a stop waits until the checkpoint is
    // written rather than pulling the processes from under CRIU.
    with_container_locked(id, [&] {
        const auto record = store_.get(id);
        if (record->state != ContainerState::Running) {
            throw failed_precondition("container " + id + " is " + to_string(record->state) +
                                      ", not running: only a running container can be "
                                      "checkpointed");
        }
        CheckpointInputs inputs;
        inputs.record = record.get();
        inputs.runtime = &runtimes_.get(record->runtime_handler);
        inputs.archive = location;
        const auto rootfs = images_.rootfs(id);
        if (rootfs)
            inputs.upper_dir = rootfs->upper.string();
        // CRI: 0 means the runtime's default.
        if (timeout_seconds > 0)
            inputs.timeout = std::chrono::seconds(timeout_seconds);
        checkpoint_container(inputs);
    });
    spdlog::info("checkpointed container {} to {}", id, location);
}

bool ContainerManager::record_exit_locked(const std::string& id) {
    auto current = store_.get(id);
    if (!current)
        return false;
    if (current->state == ContainerState::Exited)
        return true;
    const auto paths = runtimes_.get(current->runtime_handler).monitor_paths(id);
    struct stat info {};
    if (::stat(paths.exit_file.c_str(), &info) != 0)
        return false;
    Container record = *current;
    std::ifstream in(paths.exit_file);
    int code = 255;
    if (!(in >> code)) {
        record.message = "unreadable exit file " + paths.exit_file;
    }
    // A runtime that lost the container says why on the lines after the code.
    std::string reason;
    std::string message;
    in.ignore(1);
    std::getline(in, reason);
    std::getline(in, message, '\0');
    record.state = ContainerState::Exited;
    record.exit_code = code;
    record.finished_at = static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
                         static_cast<std::int64_t>(info.st_mtim.tv_nsec);
    std::error_code ignored;
    if (!reason.empty()) {
        record.reason = reason;
        record.message = message;
    } else if (!paths.oom_file.empty() && fs::exists(paths.oom_file, ignored)) {
        record.reason = "OOMKilled";
    } else {
        record.reason = code == 0 ? "Completed" : "Error";
    }
    store_.put(record);
    publish(events::ContainerEventType::Stopped, id, record.sandbox_id);
    spdlog::info("container {} exited with {} ({})", id, code, record.reason);
    return true;
}

void ContainerManager::mark_lost_locked(const std::string& id, const std::string& why) {
    Container record = *store_.get(id);
    record.state = ContainerState::Exited;
    record.exit_code = 255;
    record.finished_at = now_ns();
    record.reason = "Error";
    record.message = why;
    store_.put(record);
    publish(events::ContainerEventType::Stopped, id, record.sandbox_id);
    spdlog::warn("container {}: {}", id, why);
}

void ContainerManager::watch_monitor_locked(const std::string& id) {
    auto& runtime = runtimes_.get(store_.get(id)->runtime_handler);
    try {
        if (auto pidfd = runtime.monitor_pidfd(id))
            monitors_.watch(id, std::move(pidfd));
    } catch (const oci::RuntimeError& error) {
        if (error.kind() != oci::RuntimeErrorKind::NotFound) {
            spdlog::warn("container {}: its monitor cannot be watched: {}", id, error.what());
            return;
        }
        if (!record_exit_locked(id))
            settle_lost_monitor_locked(id);
    } catch (const std::exception& error) {
        // The container still runs; a death of its monitor would be
        // noticed only by a stop or the next restore.
        spdlog::warn("container {}: its monitor cannot be watched: {}", id, error.what());
    }
}

void ContainerManager::settle_lost_monitor_locked(const std::string& id) {
    std::string why;
    try {
        why = runtimes_.get(store_.get(id)->runtime_handler).monitor_lost(id);
    } catch (const std::exception& error) {
        why = "the container's monitor died and the container could not be ended: " +
              std::string(error.what());
    }
    // An exit file that came after all has the real code.
    if (!record_exit_locked(id))
        mark_lost_locked(id, why);
}

bool ContainerManager::on_monitor_lost(const std::string& id) {
    const auto lock = store_.operation_lock(id);
    if (!lock)
        return true;  // removed meanwhile
    // Not waiting here: this thread watches every monitor, and the
    // operation holding the container (a stop, which settles it itself)
    // may take its whole grace period.
    std::unique_lock guard(*lock, std::try_to_lock);
    if (!guard.owns_lock())
        return false;
    const auto record = store_.get(id);
    if (!record ||
        (record->state != ContainerState::Running && record->state != ContainerState::Created))
        return true;
    if (!record_exit_locked(id))
        settle_lost_monitor_locked(id);
    return true;
}

void ContainerManager::on_exit(const std::string& id) {
    {
        std::lock_guard lock(exits_mutex_);
        exits_seen_.insert(id);
    }
    exits_arrived_.notify_all();
    const auto lock = store_.operation_lock(id);
    if (!lock) {
        // A container already removed (restore undoing a half-created one
        // removes it before its monitor reports): the file is debris.
        std::error_code ignored;
        fs::remove(runtimes_.exits_directory() + "/" + id, ignored);
        std::lock_guard exits(exits_mutex_);
        exits_seen_.erase(id);
        return;
    }
    std::lock_guard guard(*lock);
    record_exit_locked(id);
}

bool ContainerManager::keep_at_restore(const Container& record) {
    try {
        auto& runtime = runtimes_.get(record.runtime_handler);
        std::error_code ignored;
        if (!runtime.reattach(record.id).empty() ||
            fs::exists(runtime.monitor_paths(record.id).exit_file, ignored))
            return false;  // it cannot start any more: undone as half-created
        if (images_.rootfs(record.id))
            images_.ensure_mounted(record.id);
    } catch (const std::exception& error) {
        spdlog::warn("restore: kept container {}: {}", record.id, error.what());
        return false;
    }
    // Its call ended while berthd stopped, after the caller left: the retry
    // after this start gets it (or the timer undoes it).
    pending_.keep(record.name, record.unclaimed_request, record.id);
    spdlog::info("restore: container {} ({}) kept for a retry", record.id, record.name);
    return true;
}

void ContainerManager::restore() {
    std::vector<std::string> problems;
    store_.load(problems);
    for (const auto& problem : problems)
        spdlog::error("ignoring container record {}", problem);
    for (const auto& snapshot : store_.list()) {
        const std::string id = snapshot->id;
        const auto lock = store_.operation_lock(id);
        std::lock_guard guard(*lock);
        try {
            if (snapshot->state == ContainerState::Creating &&
                !snapshot->unclaimed_request.empty() && keep_at_restore(*snapshot)) {
                watch_monitor_locked(id);
                continue;
            }
            if (snapshot->state == ContainerState::Creating) {
                // A crash during CreateContainer: undo every step it may have done.
                try {
                    runtimes_.get(snapshot->runtime_handler).remove(id);
                } catch (const std::exception& error) {
                    spdlog::warn("restore: removing half-created {} from its runtime: {}", id,
                                 error.what());
                }
                images_.release_rootfs(id);
                store_.erase(id);
                spdlog::info("restore: removed half-created container {}", id);
                continue;
            }
            if (snapshot->state == ContainerState::Exited)
                continue;
            if (record_exit_locked(id))
                continue;
            const std::string lost = runtimes_.get(snapshot->runtime_handler).reattach(id);
            if (!lost.empty()) {
                mark_lost_locked(id, lost);
                continue;
            }
            // An exit the runtime learnt of while picking the container up.
            if (record_exit_locked(id))
                continue;
            if (images_.rootfs(id))
                images_.ensure_mounted(id);
            watch_monitor_locked(id);
        } catch (const std::exception& error) {
            spdlog::error("restore: container {}: {}", id, error.what());
        }
    }
}

}  // namespace berth::daemon::container
