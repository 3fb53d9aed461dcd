// RuntimeImpl for OCI runtimes (runc, crun): each container is created by
// its own berth-conmon, which stays with it for its whole life, and every
// other operation is a call of the runtime binary.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>

#include "berth/config/config.hpp"
#include "berth/oci/in_flight_calls.hpp"
#include "berth/oci/runtime_error.hpp"
#include "berth/oci/runtime_impl.hpp"

namespace berth::oci {

class ExecProcessSpec;

struct OciRuntimeOptions {
    std::string handler_name;
    config::RuntimeHandler handler;  // runtime_path, runtime_root
    std::string conmon_path;         // berth-conmon
    std::string runroot;             // <runroot>: exits/ and containers/<id>/ live below it
    bool systemd_cgroup = false;
};

class RuntimeOCI final : public RuntimeImpl {
public:
    explicit RuntimeOCI(OciRuntimeOptions options);

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
    UniqueFd monitor_pidfd(const std::string& id) override;
    std::string monitor_lost(const std::string& id) override;
    void abandon_calls() override;
    // In runtime_oci_features.cpp.
    HandlerFeatures features() override;
    ExecSyncResult exec_sync(const std::string& id, const std::vector<std::string>& command,
                             std::chrono::seconds timeout) override;
    // In runtime_oci_checkpoint.cpp.
    void checkpoint(const std::string& id, const std::string& image_dir, bool leave_running,
                    std::chrono::seconds timeout) override;
    // No sandbox task: berthd itself pins the pod's namespaces.
    bool runs_sandbox_task() const override { return false; }
    int start_sandbox(const SandboxOptions&) override { return 0; }
    void stop_sandbox(const std::string&) override {}
    void remove_sandbox(const std::string&) override {}
    bool sandbox_alive(const std::string&) override { return true; }
    std::unique_ptr<ProcessIo> exec(const std::string& id, const ExecOptions& options) override;
    std::unique_ptr<ProcessIo> attach(const std::string& id, const AttachOptions& options) override;

    // The exits directory every container's monitor writes to.
    std::string exits_directory() const;

private:
    std::vector<std::string> runtime_command(std::initializer_list<std::string> arguments) const;
    std::string monitor_directory(const std::string& id) const;
    // The pid berth-conmon recorded for itself (0 when there is none), and
    // whether that pid still is the container's monitor: a pid is reused
    // after a crash or a reboot.
    pid_t recorded_monitor_pid(const std::string& id) const;
    // The bundle of a container berthd knows to be running: recorded at
    // create, else from `runtime state` (FailedPrecondition unless running).
    std::string running_bundle(const std::string& id) const;
    // Runs the runtime; throws RuntimeError(kind) with its stderr on failure.
    std::string run(std::initializer_list<std::string> arguments, RuntimeErrorKind kind,
                    std::chrono::seconds timeout = std::chrono::seconds(60)) const;
    // In runtime_oci_features.cpp: features() for a runtime without a
    // features document.
    void probe_features();

    OciRuntimeOptions options_;
    std::once_flag features_probed_;
    HandlerFeatures features_;
    // The commands of ExecSync calls in flight, for abandon_calls().
    InFlightCalls<const ExecProcessSpec> exec_syncs_;
};

// Where berth-conmon is: the configured path, else beside the running
// executable, else <exe dir>/../libexec/berth, else $PATH. Throws naming the
// places searched.
std::string find_conmon(const std::string& configured);

}  // namespace berth::oci
