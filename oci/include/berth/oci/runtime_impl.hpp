// The one interface through which berthd drives a container, whatever runs
// it: RuntimeOCI (berth-conmon + runc or crun) or RuntimeVM (a containerd
// shim v2 over ttrpc). The operations are CRI-O's set. Exits are not
// returned from here: every implementation writes them to the exits
// directory (<runroot>/exits/<id>), which berthd watches with inotify. An
// exit file holds the exit code, and may go on with a line naming the reason
// and then a message (a runtime that lost a container says why).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/oci/process_io.hpp"
#include "berth/oci/unique_fd.hpp"

namespace berth::oci {

struct CreateOptions {
    std::string id;
    std::string sandbox_id;
    std::string bundle;  // a directory holding config.json
    // The CRI log file, and the directory it must stay beneath: it is
    // opened there without following symbolic links.
    std::string log_directory;
    std::string log_path;
    std::int64_t log_size_max = -1;
    bool stdin = false;
    bool stdin_once = false;
    bool terminal = false;
};

enum class RuntimeStatus { Created, Running, Paused, Stopped, Unknown };

struct ContainerState {
    RuntimeStatus status = RuntimeStatus::Unknown;
    int pid = 0;
};

// The pod's sandbox task, for runtimes that run one (a VM runtime boots the
// pod's VM with it). berthd has pinned the pod's namespaces by then.
struct SandboxOptions {
    std::string id;      // the pod sandbox id
    std::string bundle;  // a directory holding the task's config.json
};

struct ExecSyncResult {
    std::string stdout_data;
    std::string stderr_data;
    int exit_code = 0;
};

// Optional features of a runtime handler, as the CRI's Status reports them
// per handler (RuntimeHandlerFeatures).
struct HandlerFeatures {
    // Mounts with the `rro` option: read-only down to every submount.
    bool recursive_read_only_mounts = false;
    bool user_namespaces = false;
};

// Where one container's monitor keeps what berthd and clients reach it by.
struct MonitorPaths {
    std::string attach_socket;
    std::string control_fifo;
    std::string exit_file;
    std::string oom_file;
};

class RuntimeImpl {
public:
    virtual ~RuntimeImpl() = default;

    // Creates the container (stopped at its entrypoint, as `runc create`
    // leaves it) with its monitor running; returns the container's pid.
    // Throws RuntimeError(CannotRun) with the runtime's own words.
    virtual int create(const CreateOptions& options) = 0;
    virtual void start(const std::string& id) = 0;
    // Sends `signal`; after `timeout` sends SIGKILL. Returns once the
    // container's process is gone (its exit file follows shortly).
    virtual void stop(const std::string& id, int signal, std::chrono::seconds timeout) = 0;
    virtual void signal(const std::string& id, int signal) = 0;
    // Deletes the runtime's state of a stopped (or, forced, any) container.
    virtual void remove(const std::string& id) = 0;
    // What the runtime says now (`runc state`); Unknown when it knows nothing.
    virtual ContainerState state(const std::string& id) = 0;
    virtual void pause(const std::string& id) = 0;
    virtual void unpause(const std::string& id) = 0;
    // `resources` is an OCI linux.resources object.
    virtual void update_resources(const std::string& id, const nlohmann::json& resources) = 0;
    virtual void reopen_log(const std::string& id) = 0;
    // Whether the container's monitor process is alive.
    virtual bool monitor_alive(const std::string& id) = 0;
    // After berthd restarted: picks a container that was running up again
    // (a VM runtime reconnects to its shim, resumes relaying its log and
    // watching for its exit, and writes the exit file of one that ended
    // meanwhile). Returns "" when the container is watched again, else why
    // its exit cannot be known.
    virtual std::string reattach(const std::string& id) = 0;
    virtual MonitorPaths monitor_paths(const std::string& id) const = 0;
    // The container's own monitor process as a pidfd, which turns readable
    // when the monitor exits: how berthd learns that a monitor died without
    // writing the exit file. Empty for a runtime with no process per
    // container (a VM runtime's shims are watched through their
    // connections). Throws RuntimeError(NotFound) when the monitor is gone.
    virtual UniqueFd monitor_pidfd(const std::string&) { return {}; }
    // The container's monitor died and left no exit file: ends the
    // container if it still runs (nothing would log its output or report its
    // end) and returns the message for its record, which says what happened.
    virtual std::string monitor_lost(const std::string&) {
        return "its monitor is gone, so its exit is unknown";
    }
    // berthd exits while calls are still running, and leaves them: ends what
    // they started that nobody would read or end afterwards (the commands of
    // ExecSync calls). Called once, just before the process exits.
    virtual void abandon_calls() {}
    // What this runtime can do beyond the basics; asked of the runtime
    // binary once, then remembered.
    virtual HandlerFeatures features() = 0;

    // Runs `command` in the running container with its own process spec,
    // to completion or `timeout` (0: none): its output and exit code.
    virtual ExecSyncResult exec_sync(const std::string& id, const std::vector<std::string>& command,
                                     std::chrono::seconds timeout) = 0;

    // CheckpointContainer: dumps the running container's processes with
    // CRIU into `image_dir`; the dump's log (dump.log) goes beside it. With
    // `leave_running` the processes go on afterwards. Throws RuntimeError:
    // FailedPrecondition naming the reason when CRIU cannot work on this
    // host, Internal with CRIU's first error when the dump fails.
    virtual void checkpoint(const std::string& id, const std::string& image_dir, bool leave_running,
                            std::chrono::seconds timeout) = 0;

    // Pod sandboxes. True when the runtime runs a sandbox task per pod; an
    // OCI runtime does not (berthd pins the pod's namespaces itself and needs
    // no pause container) and the calls below then do nothing.
    virtual bool runs_sandbox_task() const = 0;
    // Starts the pod's sandbox task; returns its pid. Throws RuntimeError.
    virtual int start_sandbox(const SandboxOptions& options) = 0;
    // Ends the sandbox task (the pod's containers have been stopped).
    virtual void stop_sandbox(const std::string& id) = 0;
    // Deletes the sandbox task and whatever served the pod (its shim).
    // Cleans up even when the shim is dead or does not answer.
    virtual void remove_sandbox(const std::string& id) = 0;
    // After a restart: false when the sandbox task is gone.
    virtual bool sandbox_alive(const std::string& id) = 0;

    // The streaming server's Exec: starts `options.command` in the running
    // container with live stdio. Throws RuntimeError (FailedPrecondition
    // unless running, CannotRun when the runtime refuses).
    virtual std::unique_ptr<ProcessIo> exec(const std::string& id, const ExecOptions& options) = 0;
    // The streaming server's Attach to the container's own process.
    virtual std::unique_ptr<ProcessIo> attach(const std::string& id,
                                              const AttachOptions& options) = 0;
};

}  // namespace berth::oci
