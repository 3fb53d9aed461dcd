// Container lifecycle: CreateContainer, StartContainer, StopContainer,
// RemoveContainer, ReopenContainerLog, UpdateContainerResources, exits and
// restore at start. Every operation on one container runs under its
// operation lock; exits arrive from the ExitWatcher's thread, deaths of
// containers' monitors from the MonitorWatcher's.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "berth/cri_api.hpp"
#include "berth/storage/image_storage.hpp"
#include "config_holder.hpp"
#include "container/container.hpp"
#include "container/monitor_watcher.hpp"
#include "container/runtime_set.hpp"
#include "events/event_bus.hpp"
#include "pending_results.hpp"
#include "sandbox/sandbox_store.hpp"

namespace berth::daemon::container {

class ContainerManager {
public:
    // Every change of a container's state is published on `events` (when
    // given) for GetContainerEvents.
    ContainerManager(ConfigHolder& config, const sandbox::SandboxStore& sandboxes,
                     storage::ImageStorage& images, const RuntimeSet& runtimes,
                     ContainerStore& store, events::EventBus* events = nullptr);

    // Returns the new container's id. Throws StatusError (and runtime or
    // storage errors, which rpc_status maps). An identical request whose
    // first call is still running, or finished after its caller left, gets
    // that call's container (see PendingResults); `caller` tells whether the
    // answer can still reach anyone when the container is created.
    std::string create(const runtime::v1::CreateContainerRequest& request,
                       const Caller& caller = {});
    void start(const std::string& id_or_prefix);
    // Returns once the container has exited and its exit is recorded.
    // Idempotent; an unknown id is NOT_FOUND.
    void stop(const std::string& id_or_prefix, std::int64_t timeout_seconds);
    // Stops first when needed; an unknown id is fine.
    void remove(const std::string& id_or_prefix);
    void reopen_log(const std::string& id_or_prefix);
    // Runs `command` in the running container and returns its output and
    // exit code; DEADLINE_EXCEEDED when `timeout_seconds` (> 0) passes.
    // Not under the container's lock: a long probe must not hold up a stop.
    oci::ExecSyncResult exec_sync(const std::string& id_or_prefix,
                                  const std::vector<std::string>& command,
                                  std::int64_t timeout_seconds);
    // The streaming server's Exec and Attach, when the client connects: the
    // container must (still) be running. Throw StatusError or RuntimeError.
    std::unique_ptr<oci::ProcessIo> open_exec(const std::string& id,
                                              const oci::ExecOptions& options);
    std::unique_ptr<oci::ProcessIo> open_attach(const std::string& id, bool stdin, bool tty);
    // The Exec and Attach RPCs: the id of a running container, else
    // NOT_FOUND or FAILED_PRECONDITION.
    std::string running_container(const std::string& id_or_prefix) const;

    void update_resources(const std::string& id_or_prefix,
                          const runtime::v1::LinuxContainerResources& resources);
    // CheckpointContainer: writes a checkpoint archive of the running
    // container to `location`; the container keeps running.
    void checkpoint(const std::string& id_or_prefix, const std::string& location,
                    std::int64_t timeout_seconds);

    // An exit file appeared (ExitWatcher thread).
    void on_exit(const std::string& id);
    // How many containers' monitors are watched (for tests and metrics).
    std::size_t monitors_watched() const { return monitors_.watched(); }

    // Loads every record at start, before serving: half-created containers
    // are removed, exits that happened while berthd was down are recorded,
    // containers whose monitor is gone are marked exited.
    void restore();

    // StopPodSandbox and RemovePodSandbox: every container of the pod is
    // stopped (at once, as the pod's grace period has passed by then) or
    // removed first.
    void stop_all_in(const std::string& sandbox_id);
    void remove_all_in(const std::string& sandbox_id);

    const ContainerStore& store() const { return store_; }
    // The process id of a running container (0 if none), for PID mode TARGET.
    int pid_of(const std::string& id) const;

private:
    // Makes a kept container visible for the retry that takes it; false
    // when it is gone (removed with its pod meanwhile).
    bool claim(const std::string& id, const std::string& name, const std::string& fingerprint);
    // Removes a kept container nobody took.
    void undo_unclaimed(const std::string& id);
    // Restore: a kept container whose monitor and process are still there
    // is kept again for the retry after the restart.
    bool keep_at_restore(const Container& record);
    template <typename Body>
    void with_container_locked(const std::string& id, Body&& body);
    void stop_locked(const std::string& id, std::int64_t timeout_seconds);
    // StopPodSandbox and RemoveContainer: a runtime that cannot stop the
    // container any more (shim dead or hung) marks it lost instead of
    // failing the call.
    void stop_for_removal_locked(const std::string& id);
    // Reads the exit file (and OOM marker) into the record; false when there
    // is no exit file yet.
    bool record_exit_locked(const std::string& id);
    void mark_lost_locked(const std::string& id, const std::string& why);
    // Watches the container's monitor process, when its runtime has one; a
    // monitor found gone already is settled at once.
    void watch_monitor_locked(const std::string& id);
    // The container's monitor died and no exit file came: the runtime ends
    // the container if it still runs, and the record says why its exit code
    // is unknown.
    void settle_lost_monitor_locked(const std::string& id);
    // MonitorWatcher's thread, a grace after a monitor died: false when the
    // container is busy (asked again later).
    bool on_monitor_lost(const std::string& id);
    // Where a container's CRI log goes: `path` lies beneath `directory`,
    // which is the pod's log_directory or, without one, [berth] log_dir.
    struct LogLocation {
        std::string directory;
        std::string path;
    };
    LogLocation log_location(const runtime::v1::ContainerConfig& config,
                             const runtime::v1::PodSandboxConfig& pod) const;
    bool wait_for_exit_file(const std::string& id, std::chrono::milliseconds timeout);
    // Publishes the change with snapshots of the pod and its containers as
    // they are now. Called under the container's operation lock, which is
    // what keeps one container's events in order.
    void publish(events::ContainerEventType type, const std::string& id,
                 const std::string& sandbox_id);

    ConfigHolder& config_;
    const sandbox::SandboxStore& sandboxes_;
    storage::ImageStorage& images_;
    const RuntimeSet& runtimes_;
    ContainerStore& store_;
    events::EventBus* events_;

    // Exit files seen by the watcher, so that a stop waiting for one wakes at
    // once instead of polling.
    std::mutex exits_mutex_;
    std::condition_variable exits_arrived_;
    std::set<std::string> exits_seen_;

    // Its thread calls back into everything above but pending_, so it
    // stops after pending_ and before the rest.
    MonitorWatcher monitors_;
    // Last: its timer undoes kept containers with the members above.
    PendingResults pending_;
};

}  // namespace berth::daemon::container
