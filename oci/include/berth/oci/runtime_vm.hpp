// RuntimeImpl for VM runtimes: any containerd shim v2 binary (Kata's
// containerd-shim-kata-v2, or containerd-shim-runc-v2, which speaks the same
// API), driven over ttrpc as containerd drives it. One shim serves a pod: it
// is started with the pod's sandbox task (where Kata boots the VM) and the
// pod's containers are tasks of that same shim.
//
// berthd relays each container's output from the shim's fifos into the CRI
// log, learns exits through Task.Wait and writes them to the exits directory
// like berth-conmon does, so that everything above this interface is shared
// with RuntimeOCI. What a restarted berthd needs to find the shims again is
// kept in <runroot>/vm/<task id>/ (the bundle the shim was given).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "berth/config/config.hpp"
#include "berth/oci/in_flight_calls.hpp"
#include "berth/oci/runtime_error.hpp"
#include "berth/oci/runtime_impl.hpp"

namespace berth::oci {

namespace ttrpc {
class Server;
}  // namespace ttrpc

namespace vm {
class ShimConnection;
struct ShimCommand;
struct Task;
class ExecIo;
struct TaskRecord;
struct Pod;
}  // namespace vm

struct VmRuntimeOptions {
    std::string handler_name;
    config::RuntimeHandler handler;  // runtime_path (the shim), runtime_config_path, shim_timeout
    std::string runroot;             // exits/ and vm/ live below it
    std::string daemon_address;      // berthd's socket: shims name their sockets after it
    // berth-pod-init, which holds each container's output fifos open while
    // berthd is away; "" to go without (output of a container that exits
    // while berthd is down may then be lost).
    std::string fifo_keeper;
};

class RuntimeVM final : public RuntimeImpl {
public:
    explicit RuntimeVM(VmRuntimeOptions options);
    // Lets go of every shim (they and their containers go on running) without
    // recording exits: a restarted berthd picks them up again.
    ~RuntimeVM() override;

    int create(const CreateOptions& options) override;
    void start(const std::string& id) override;
    void stop(const std::string& id, int signal, std::chrono::seconds timeout) override;
    void signal(const std::string& id, int signal) override;
    void remove(const std::string& id) override;
    ContainerState state(const std::string& id) override;
    void pause(const std::string& id) override;
    void unpause(const std::string& id) override;
    void update_resources(const std::string& id, const nlohmann::json& resources) override;
    void reopen_log(const std::string& id) override;
    bool monitor_alive(const std::string& id) override;
    std::string reattach(const std::string& id) override;
    MonitorPaths monitor_paths(const std::string& id) const override;
    // None: mounts and users are the VM's business, and the shim API does
    // not say what the guest can do.
    HandlerFeatures features() override { return {}; }
    ExecSyncResult exec_sync(const std::string& id, const std::vector<std::string>& command,
                             std::chrono::seconds timeout) override;
    // Kills the commands of ExecSync calls in flight through their shims.
    void abandon_calls() override;
    void checkpoint(const std::string& id, const std::string& image_dir, bool leave_running,
                    std::chrono::seconds timeout) override;
    bool runs_sandbox_task() const override { return true; }
    int start_sandbox(const SandboxOptions& options) override;
    void stop_sandbox(const std::string& id) override;
    void remove_sandbox(const std::string& id) override;
    bool sandbox_alive(const std::string& id) override;
    std::unique_ptr<ProcessIo> exec(const std::string& id, const ExecOptions& options) override;
    std::unique_ptr<ProcessIo> attach(const std::string& id, const AttachOptions& options) override;

private:
    std::string task_directory(const std::string& id) const;
    std::string exit_file(const std::string& id) const;
    // The pod's shim: known, or reconnected from its record after a restart.
    // Throws RuntimeError(FailedPrecondition) when the pod has none,
    // Unavailable when it cannot be reached.
    std::shared_ptr<vm::Pod> pod(const std::string& sandbox_id);
    // The container's task: known, or loaded from its record after a
    // restart (relay and exit watch resumed). Throws RuntimeError(NotFound).
    std::shared_ptr<vm::Task> task(const std::string& id);
    std::shared_ptr<vm::Task> find_task(const std::string& id);
    // A Task for `id` with its fifos opened and its output relayed to the log.
    std::shared_ptr<vm::Task> open_task(const std::string& id, const vm::TaskRecord& record,
                                        std::shared_ptr<vm::ShimConnection> shim);
    vm::ShimCommand shim_command() const;
    void watch_exit(const std::shared_ptr<vm::Task>& task);
    // The sandbox task's end goes to the exits directory under the pod's id,
    // which tells berthd that the pod is no longer ready.
    void watch_sandbox_exit(const std::shared_ptr<vm::Pod>& pod);
    void record_exit(const std::shared_ptr<vm::Task>& task, int code, std::int64_t exited_at_ns,
                     const std::string& reason, const std::string& message);
    void write_exit_file(const std::string& id, int code, std::int64_t exited_at_ns,
                         const std::string& reason, const std::string& message);
    // Kill; a process that has already gone is not an error.
    void kill(const vm::Task& task, int signal, bool all);
    bool wait_exited(vm::Task& task, std::chrono::milliseconds timeout);
    std::string runtime_options() const;
    // The shims' event publisher calls this: every event is acknowledged,
    // TaskOOM marks the container OOM-killed.
    std::string on_event(const std::string& service, const std::string& method,
                         const std::string& payload);
    std::string oom_file(const std::string& id) const;

    VmRuntimeOptions options_;
    std::chrono::seconds timeout_;
    std::atomic<bool> shutting_down_{false};

    std::mutex mutex_;                                        // guards the maps and orphaned_
    std::map<std::string, std::shared_ptr<vm::Pod>> pods_;    // by sandbox id
    std::map<std::string, std::shared_ptr<vm::Task>> tasks_;  // containers, by id
    std::set<std::string> removing_;  // pods in remove_sandbox: not to be loaded again
    // Exit watchers of removed tasks whose shim never answered: joined at
    // the end, once every connection is closed.
    std::vector<std::thread> orphaned_;
    // The commands of ExecSync calls in flight, for abandon_calls().
    InFlightCalls<vm::ExecIo> exec_syncs_;
    // Where shims publish task events (TTRPC_ADDRESS); null when it could
    // not be opened (events are then lost, exits still arrive by Wait).
    std::unique_ptr<ttrpc::Server> events_;
};

}  // namespace berth::oci
