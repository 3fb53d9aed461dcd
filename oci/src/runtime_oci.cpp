#include "berth/oci/runtime_oci.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "attach_session.hpp"
#include "berth/config/helper_binary.hpp"
#include "berth/oci/unique_fd.hpp"
#include "command.hpp"
#include "exec_process_spec.hpp"
#include "exec_session.hpp"

namespace berth::oci {
namespace fs = std::filesystem;
namespace {

// What ExecSync keeps of each stream: enough for any probe, bounded so that a
// chatty command cannot exhaust berthd's memory.
constexpr std::size_t kExecOutputLimit = 16 << 20;

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

// Waits until the process behind `pidfd` has exited, at most `timeout`.
bool wait_exit(int pidfd, std::chrono::milliseconds timeout) {
    pollfd ready{pidfd, POLLIN, 0};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        const int result = ::poll(&ready, 1, static_cast<int>(std::max<long>(left.count(), 0)));
        if (result > 0)
            return true;
        if (result == 0)
            return false;
        if (errno != EINTR)
            return false;
    }
}

int pidfd_open(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// SIGKILL through the pidfd, which cannot hit a process that reused the pid.
void pidfd_send_signal_or_kill(int pidfd, pid_t pid) {
    if (::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) != 0 && errno == ENOSYS)
        ::kill(pid, SIGKILL);
}

// The container's process from the pid files in the monitor's directory
// (runtime create's --pid-file, berth-conmon's own), opened as a pidfd, or
// -1 when they cannot vouch for it. It must still be the monitor's child:
// berth-conmon is the subreaper of what the runtime starts, so a pid reused
// after the container ended has another parent.
int open_container_process(const std::string& monitor_dir, pid_t* pid) {
    pid_t container = 0;
    pid_t monitor = 0;
    std::ifstream container_file(monitor_dir + "/container.pid");
    std::ifstream monitor_file(monitor_dir + "/conmon.pid");
    if (!(container_file >> container) || !(monitor_file >> monitor) || container <= 0 ||
        monitor <= 0)
        return -1;
    UniqueFd process(pidfd_open(container));
    if (process.get() < 0)
        return -1;
    // /proc/PID/stat: "PID (COMM) STATE PPID ...", COMM may hold anything.
    std::ifstream stat_file("/proc/" + std::to_string(container) + "/stat");
    std::string stat;
    std::getline(stat_file, stat);
    const auto after_comm = stat.rfind(')');
    if (after_comm == std::string::npos)
        return -1;
    std::istringstream fields(stat.substr(after_comm + 1));
    std::string state;
    pid_t parent = 0;
    if (!(fields >> state >> parent) || parent != monitor)
        return -1;
    *pid = container;
    return process.release();
}

// Whether process `pid` is the monitor berthd started for container `id`,
// writing `exit_file`: its command line says so (whatever the configured
// berth-conmon is called). Nothing else that may get the pid later does.
bool is_monitor_of(pid_t pid, const std::string& id, const std::string& exit_file) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::map<std::string, std::string> options;
    std::string previous;
    for (std::string arg; std::getline(in, arg, '\0'); previous = arg) {
        if (previous.rfind("--", 0) == 0)
            options.emplace(previous, arg);
    }
    return options["--cid"] == id && options["--exit-file"] == exit_file;
}

// Ends a command that ExecSync started in a container: runc exec does not
// end it when it is killed itself. runc starts the command in a session of
// its own, so its process group takes what the command started along.
void end_exec_command(const ExecProcessSpec& spec) {
    const pid_t pid = spec.command_pid();
    if (pid <= 0)
        return;
    if (::getpgid(pid) == pid)
        ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
}

// The first line the monitor writes on the sync pipe, at most `timeout`
// away: runc create can take a while on a loaded node.
std::string read_sync_line(int fd, std::chrono::milliseconds timeout) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[4096];
    while (line.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        pollfd ready{fd, POLLIN, 0};
        const int result = ::poll(&ready, 1, static_cast<int>(left.count()));
        if (result < 0 && errno == EINTR)
            continue;
        if (result <= 0)
            break;
        const ssize_t got = ::read(fd, buffer, sizeof(buffer));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        line.append(buffer, static_cast<std::size_t>(got));
        if (line.size() > (1 << 20))
            break;
    }
    return line.substr(0, line.find('\n'));
}

}  // namespace

std::string find_conmon(const std::string& configured) {
    if (!configured.empty()) {
        if (::access(configured.c_str(), X_OK) != 0) {
            throw std::runtime_error("berth-conmon at " + configured +
                                     " cannot be run: " + std::strerror(errno));
        }
        return configured;
    }
    return config::find_helper_binary("berth-conmon");
}

RuntimeOCI::RuntimeOCI(OciRuntimeOptions options) : options_(std::move(options)) {}

std::string RuntimeOCI::exits_directory() const {
    return options_.runroot + "/exits";
}

std::string RuntimeOCI::monitor_directory(const std::string& id) const {
    return options_.runroot + "/containers/" + id;
}

MonitorPaths RuntimeOCI::monitor_paths(const std::string& id) const {
    const std::string dir = monitor_directory(id);
    return {dir + "/attach", dir + "/ctl", exits_directory() + "/" + id, dir + "/oom"};
}

std::vector<std::string> RuntimeOCI::runtime_command(
    std::initializer_list<std::string> arguments) const {
    std::vector<std::string> argv{options_.handler.runtime_path, "--root",
                                  options_.handler.runtime_root};
    if (options_.systemd_cgroup)
        argv.push_back("--systemd-cgroup");
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return argv;
}

std::string RuntimeOCI::run(std::initializer_list<std::string> arguments, RuntimeErrorKind kind,
                            std::chrono::seconds timeout) const {
    const auto argv = runtime_command(arguments);
    CommandResult result;
    try {
        result = run_command(argv, timeout);
    } catch (const std::system_error& error) {
        throw RuntimeError(RuntimeErrorKind::CannotRun, error.what());
    }
    if (result.timed_out) {
        throw RuntimeError(
            RuntimeErrorKind::DeadlineExceeded,
            join_command(argv) + ": no answer within " + std::to_string(timeout.count()) + " s");
    }
    if (result.exit_code != 0) {
        std::string message = trimmed(result.err.empty() ? result.out : result.err);
        if (message.find("does not exist") != std::string::npos ||
            message.find("not found") != std::string::npos) {
            kind = RuntimeErrorKind::NotFound;
        }
        throw RuntimeError(kind, options_.handler_name + ": " + message);
    }
    return result.out;
}

int RuntimeOCI::create(const CreateOptions& options) {
    const MonitorPaths paths = monitor_paths(options.id);
    const std::string dir = monitor_directory(options.id);
    fs::create_directories(dir);
    // Exec and ExecSync read the bundle from here instead of asking the
    // runtime (`runc state` costs a process per exec).
    {
        std::ofstream bundle_file(dir + "/bundle", std::ios::trunc);
        bundle_file << options.bundle;
    }
    fs::create_directories(exits_directory());
    fs::create_directories(options_.handler.runtime_root);
    // A leftover exit file from a removed container of the same id would be
    // read as this one's exit.
    fs::remove(paths.exit_file);

    int sync_fds[2];
    if (::pipe2(sync_fds, O_CLOEXEC) != 0) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           std::string("sync pipe: ") + std::strerror(errno));
    }
    UniqueFd sync_read(sync_fds[0]);
    UniqueFd sync_write(sync_fds[1]);

    std::vector<std::string> argv{options_.conmon_path,
                                  "--cid",
                                  options.id,
                                  "--runtime",
                                  options_.handler.runtime_path,
                                  "--runtime-root",
                                  options_.handler.runtime_root,
                                  "--bundle",
                                  options.bundle,
                                  "--container-pidfile",
                                  dir + "/container.pid",
                                  "--conmon-pidfile",
                                  dir + "/conmon.pid",
                                  "--log-dir",
                                  options.log_directory,
                                  "--log-path",
                                  options.log_path,
                                  "--exit-file",
                                  paths.exit_file,
                                  "--oom-file",
                                  paths.oom_file,
                                  "--attach-socket",
                                  paths.attach_socket,
                                  "--ctl-fifo",
                                  paths.control_fifo,
                                  "--sync-fd",
                                  "3"};
    if (options_.systemd_cgroup)
        argv.push_back("--systemd-cgroup");
    if (options.log_size_max > 0) {
        argv.push_back("--log-size-max");
        argv.push_back(std::to_string(options.log_size_max));
    }
    if (options.stdin)
        argv.push_back("--stdin");
    if (options.stdin_once)
        argv.push_back("--stdin-once");
    if (options.terminal)
        argv.push_back("--terminal");

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, sync_write.get(), 3);
    posix_spawn_file_actions_addclosefrom_np(&actions, 4);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigfillset(&defaults);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    for (auto& arg : argv)
        args.push_back(arg.data());
    args.push_back(nullptr);
    pid_t monitor = 0;
    ChildEnvironment environment;
    const int spawned =
        posix_spawn(&monitor, args[0], &actions, &attributes, args.data(), environment.get());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0) {
        throw RuntimeError(RuntimeErrorKind::CannotRun,
                           "starting " + options_.conmon_path + ": " + std::strerror(spawned));
    }
    sync_write.reset();
    // The monitor forks and its first process exits at once: reap it here so
    // that the long-lived one is nobody's zombie.
    int status = 0;
    while (::waitpid(monitor, &status, 0) < 0 && errno == EINTR) {
    }

    const std::string line = read_sync_line(sync_read.get(), std::chrono::seconds(120));
    if (line.empty()) {
        // A monitor that said nothing in time may still be creating the
        // container: end it and everything it started (its session's
        // process group) before anyone cleans up after it.
        std::ifstream pid_file(dir + "/conmon.pid");
        pid_t monitor_pid = 0;
        if (pid_file >> monitor_pid && monitor_pid > 0)
            ::kill(-monitor_pid, SIGKILL);
        throw RuntimeError(RuntimeErrorKind::CannotRun,
                           "berth-conmon reported nothing for " + options.id + " (exit status " +
                               std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
    }
    nlohmann::json report;
    try {
        report = nlohmann::json::parse(line);
    } catch (const std::exception&) {
        throw RuntimeError(RuntimeErrorKind::Internal, "berth-conmon sent \"" + line + "\"");
    }
    const int pid = report.value("pid", -1);
    if (pid <= 0) {
        throw RuntimeError(
            RuntimeErrorKind::CannotRun,
            options_.handler_name + " create: " + report.value("message", std::string("failed")));
    }
    return pid;
}

void RuntimeOCI::start(const std::string& id) {
    run({"start", id}, RuntimeErrorKind::CannotRun);
}

void RuntimeOCI::signal(const std::string& id, int signal_number) {
    run({"kill", id, std::to_string(signal_number)}, RuntimeErrorKind::FailedPrecondition);
}

void RuntimeOCI::stop(const std::string& id, int signal_number, std::chrono::seconds timeout) {
    // The monitor's pid files spare a `runtime state` on every stop (a
    // process of its own, 6-15 ms with runc: docs/benchmarks.md); the runtime
    // is asked only when they cannot vouch for the process.
    pid_t pid = 0;
    UniqueFd process(open_container_process(monitor_directory(id), &pid));
    if (process.get() < 0) {
        const ContainerState current = state(id);
        if (current.status == RuntimeStatus::Stopped || current.status == RuntimeStatus::Unknown ||
            current.pid <= 0) {
            return;
        }
        pid = current.pid;
        process.reset(pidfd_open(pid));
        if (process.get() < 0)
            return;  // already gone
    }
    if (timeout.count() > 0) {
        try {
            signal(id, signal_number);
        } catch (const RuntimeError&) {
            // It may have exited between state and kill; the wait tells.
        }
        if (wait_exit(process.get(), timeout))
            return;
    }
    try {
        signal(id, SIGKILL);
    } catch (const RuntimeError&) {
        pidfd_send_signal_or_kill(process.get(), pid);
    }
    if (!wait_exit(process.get(), std::chrono::seconds(30))) {
        throw RuntimeError(RuntimeErrorKind::DeadlineExceeded,
                           "container " + id + " did not die within 30 s of SIGKILL");
    }
}

void RuntimeOCI::remove(const std::string& id) {
    try {
        run({"delete", "--force", id}, RuntimeErrorKind::Internal);
    } catch (const RuntimeError& error) {
        if (error.kind() != RuntimeErrorKind::NotFound)
            throw;
    }
    std::error_code ignored;
    fs::remove_all(monitor_directory(id), ignored);
    fs::remove(monitor_paths(id).exit_file, ignored);
}

ContainerState RuntimeOCI::state(const std::string& id) {
    ContainerState result;
    std::string out;
    try {
        out = run({"state", id}, RuntimeErrorKind::Internal, std::chrono::seconds(30));
    } catch (const RuntimeError& error) {
        if (error.kind() == RuntimeErrorKind::NotFound)
            return result;
        throw;
    }
    try {
        const auto json = nlohmann::json::parse(out);
        const std::string status = json.value("status", "");
        result.pid = json.value("pid", 0);
        result.status = status == "created"   ? RuntimeStatus::Created
                        : status == "running" ? RuntimeStatus::Running
                        : status == "paused"  ? RuntimeStatus::Paused
                        : status == "stopped" ? RuntimeStatus::Stopped
                                              : RuntimeStatus::Unknown;
    } catch (const std::exception&) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           options_.handler_name + " state " + id + ": not JSON");
    }
    return result;
}

void RuntimeOCI::pause(const std::string& id) {
    run({"pause", id}, RuntimeErrorKind::FailedPrecondition);
}

void RuntimeOCI::unpause(const std::string& id) {
    run({"resume", id}, RuntimeErrorKind::FailedPrecondition);
}

void RuntimeOCI::update_resources(const std::string& id, const nlohmann::json& resources) {
    const std::string file = monitor_directory(id) + "/resources.json";
    {
        std::ofstream out(file, std::ios::trunc);
        out << resources.dump();
        if (!out)
            throw RuntimeError(RuntimeErrorKind::Internal, "writing " + file);
    }
    run({"update", "--resources", file, id}, RuntimeErrorKind::FailedPrecondition);
}

void RuntimeOCI::reopen_log(const std::string& id) {
    const std::string fifo = monitor_paths(id).control_fifo;
    UniqueFd control(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (control.get() < 0) {
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "container " + id + " has no running monitor (" + fifo + ": " +
                               std::strerror(errno) + ")");
    }
    const std::string message = "2 0 0\n";
    if (::write(control.get(), message.data(), message.size()) !=
        static_cast<ssize_t>(message.size())) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "writing to " + fifo + ": " + std::strerror(errno));
    }
}

pid_t RuntimeOCI::recorded_monitor_pid(const std::string& id) const {
    std::ifstream in(monitor_directory(id) + "/conmon.pid");
    pid_t pid = 0;
    return in >> pid && pid > 0 ? pid : 0;
}

bool RuntimeOCI::monitor_alive(const std::string& id) {
    // The pid alone could be reused by anything after a reboot or a crash.
    const pid_t pid = recorded_monitor_pid(id);
    return pid > 0 && is_monitor_of(pid, id, monitor_paths(id).exit_file);
}

UniqueFd RuntimeOCI::monitor_pidfd(const std::string& id) {
    const pid_t pid = recorded_monitor_pid(id);
    if (pid <= 0) {
        throw RuntimeError(
            RuntimeErrorKind::NotFound,
            "container " + id + " has no monitor pid file in " + monitor_directory(id));
    }
    // The command line is read once the pidfd pins the process, and the
    // pidfd is asked afterwards whether that process still runs: only then
    // was the command line its own and not that of a later holder of the
    // pid.
    UniqueFd process(pidfd_open(pid));
    if (!process || !is_monitor_of(pid, id, monitor_paths(id).exit_file) ||
        wait_exit(process.get(), std::chrono::milliseconds(0))) {
        throw RuntimeError(RuntimeErrorKind::NotFound, "the monitor of container " + id +
                                                           " (berth-conmon, pid " +
                                                           std::to_string(pid) + ") is gone");
    }
    return process;
}

std::string RuntimeOCI::monitor_lost(const std::string& id) {
    const pid_t monitor = recorded_monitor_pid(id);
    const std::string who =
        "the container's monitor berth-conmon" +
        (monitor > 0 ? " (pid " + std::to_string(monitor) + ")" : std::string()) + " died";
    const ContainerState current = state(id);
    if (current.pid <= 0 || current.status == RuntimeStatus::Stopped ||
        current.status == RuntimeStatus::Unknown) {
        return who + "; the container had ended, its exit code is unknown";
    }
    if (current.status == RuntimeStatus::Paused) {
        // A frozen process holds a SIGKILL until it is thawed.
        try {
            unpause(id);
        } catch (const RuntimeError&) {
            // The kill below says whether it mattered.
        }
    }
    stop(id, SIGKILL, std::chrono::seconds(0));
    return who + "; the container was killed";
}

std::string RuntimeOCI::reattach(const std::string& id) {
    // berth-conmon went on watching while berthd was away: nothing to pick up.
    if (monitor_alive(id))
        return "";
    try {
        return monitor_lost(id);
    } catch (const std::exception& error) {
        return "its monitor (berth-conmon) is gone, so its exit is unknown (ending the "
               "container: " +
               std::string(error.what()) + ")";
    }
}

std::string RuntimeOCI::running_bundle(const std::string& id) const {
    // berthd checks that the container runs before it asks; the runtime's
    // own state is the fallback for containers created before the file was
    // kept (and tells a stopped container apart).
    {
        std::ifstream bundle_file(monitor_directory(id) + "/bundle");
        std::string bundle;
        if (std::getline(bundle_file, bundle) && !bundle.empty() &&
            fs::exists(bundle + "/config.json"))
            return bundle;
    }
    try {
        const auto state =
            nlohmann::json::parse(run({"state", id}, RuntimeErrorKind::FailedPrecondition));
        if (state.value("status", "") != "running") {
            throw RuntimeError(
                RuntimeErrorKind::FailedPrecondition,
                "container " + id + " is not running (" + state.value("status", "unknown") + ")");
        }
        return state.at("bundle").get<std::string>();
    } catch (const RuntimeError&) {
        throw;
    } catch (const std::exception& error) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "reading the state of " + id + ": " + error.what());
    }
}

ExecSyncResult RuntimeOCI::exec_sync(const std::string& id, const std::vector<std::string>& command,
                                     std::chrono::seconds timeout) {
    const ExecProcessSpec spec(running_bundle(id), monitor_directory(id), command, false);
    const std::string& spec_path = spec.spec_path();
    const std::string& pid_path = spec.pid_path();

    CommandOptions options;
    options.max_output = kExecOutputLimit;
    // runc exec does not kill what it started when it is killed itself: the
    // process inside the container is ended first.
    options.on_timeout = [&spec] { end_exec_command(spec); };
    const InFlightCalls<const ExecProcessSpec>::Entry in_flight(exec_syncs_, &spec);
    // A timeout of 0 means none in the CRI; a day stands in for "none".
    const auto limit = timeout.count() > 0
                           ? std::chrono::duration_cast<std::chrono::milliseconds>(timeout)
                           : std::chrono::milliseconds(std::chrono::hours(24));
    CommandResult result;
    try {
        result = run_command(
            runtime_command({"exec", "--process", spec_path, "--pid-file", pid_path, id}), limit,
            options);
    } catch (const std::system_error& error) {
        throw RuntimeError(RuntimeErrorKind::CannotRun, error.what());
    }
    if (result.timed_out) {
        throw RuntimeError(RuntimeErrorKind::DeadlineExceeded,
                           "command timed out after " + std::to_string(timeout.count()) + " s");
    }
    ExecSyncResult output{std::move(result.out), std::move(result.err), result.exit_code};
    for (const auto& [dropped, stream] :
         {std::pair{result.dropped_out, "stdout"}, {result.dropped_err, "stderr"}}) {
        if (dropped > 0) {
            output.stderr_data += "\n[berth: " + std::to_string(dropped) + " more bytes of " +
                                  stream + " dropped: output is capped at " +
                                  std::to_string(kExecOutputLimit) + " bytes per stream]\n";
        }
    }
    return output;
}

void RuntimeOCI::abandon_calls() {
    exec_syncs_.for_each([](const ExecProcessSpec& spec) { end_exec_command(spec); });
}

std::unique_ptr<ProcessIo> RuntimeOCI::exec(const std::string& id, const ExecOptions& options) {
    auto spec = std::make_unique<ExecProcessSpec>(running_bundle(id), monitor_directory(id),
                                                  options.command, options.tty);
    auto argv = runtime_command(
        {"exec", "--process", spec->spec_path(), "--pid-file", spec->pid_path(), id});
    return std::make_unique<ExecSession>(argv, options, std::move(spec));
}

std::unique_ptr<ProcessIo> RuntimeOCI::attach(const std::string& id, const AttachOptions& options) {
    return std::make_unique<AttachSession>(monitor_paths(id), options);
}

}  // namespace berth::oci
