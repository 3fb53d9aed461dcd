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

#include "berth/config/helper_binary.hpp"
#include "command.hpp"

namespace berth::oci {
namespace fs = std::filesystem;
namespace {

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int value) : fd(value) {}
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    void reset(int value = -1) {
        if (fd >= 0)
            ::close(fd);
        fd = value;
    }
};

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
    Fd sync_read(sync_fds[0]);
    Fd sync_write(sync_fds[1]);

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
    posix_spawn_file_actions_adddup2(&actions, sync_write.fd, 3);
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

    const std::string line = read_sync_line(sync_read.fd, std::chrono::seconds(120));
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
    const ContainerState current = state(id);
    if (current.status == RuntimeStatus::Stopped || current.status == RuntimeStatus::Unknown ||
        current.pid <= 0) {
        return;
    }
    Fd process(pidfd_open(current.pid));
    if (process.fd < 0)
        return;  // already gone
    if (timeout.count() > 0) {
        try {
            signal(id, signal_number);
        } catch (const RuntimeError&) {
            // It may have exited between state and kill; the wait tells.
        }
        if (wait_exit(process.fd, timeout))
            return;
    }
    try {
        signal(id, SIGKILL);
    } catch (const RuntimeError&) {
        ::kill(current.pid, SIGKILL);
    }
    if (!wait_exit(process.fd, std::chrono::seconds(30))) {
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
    Fd control(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (control.fd < 0) {
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "container " + id + " has no running monitor (" + fifo + ": " +
                               std::strerror(errno) + ")");
    }
    const std::string message = "2 0 0\n";
    if (::write(control.fd, message.data(), message.size()) !=
        static_cast<ssize_t>(message.size())) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "writing to " + fifo + ": " + std::strerror(errno));
    }
}

bool RuntimeOCI::monitor_alive(const std::string& id) {
    std::ifstream in(monitor_directory(id) + "/conmon.pid");
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 0)
        return false;
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    // The pid alone could be reused by anything after a reboot or a crash.
    return std::getline(comm, name) && name == "berth-conmon";
}

ExecSyncResult RuntimeOCI::exec_sync(const std::string& id, const std::vector<std::string>& command,
                                     std::chrono::seconds timeout) {
    // The command runs as the container's own process does (user, env, cwd,
    // capabilities, seccomp, ...): its process spec with other arguments.
    nlohmann::json process;
    try {
        const auto state =
            nlohmann::json::parse(run({"state", id}, RuntimeErrorKind::FailedPrecondition));
        std::ifstream spec_file(state.at("bundle").get<std::string>() + "/config.json");
        process = nlohmann::json::parse(spec_file).at("process");
    } catch (const RuntimeError&) {
        throw;
    } catch (const std::exception& error) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "reading the process spec of " + id + ": " + error.what());
    }
    process["args"] = command;
    process["terminal"] = false;
    process.erase("consoleSize");

    char suffix[] = "XXXXXX";
    std::string base = monitor_directory(id) + "/exec-" + suffix;
    const int fd = ::mkstemp(base.data());
    if (fd < 0) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "exec spec for " + id + ": " + std::strerror(errno));
    }
    ::close(fd);
    const std::string spec_path = base;
    const std::string pid_path = base + ".pid";
    struct Cleanup {
        std::string a, b;
        ~Cleanup() {
            std::error_code ignored;
            fs::remove(a, ignored);
            fs::remove(b, ignored);
        }
    } cleanup{spec_path, pid_path};
    {
        std::ofstream out(spec_path, std::ios::trunc);
        out << process.dump();
        if (!out)
            throw RuntimeError(RuntimeErrorKind::Internal, "writing " + spec_path);
    }

    CommandOptions options;
    options.max_output = kExecOutputLimit;
    // runc exec does not kill what it started when it is killed itself: the
    // process inside the container is ended first.
    options.on_timeout = [&pid_path] {
        std::ifstream in(pid_path);
        pid_t pid = 0;
        if (in >> pid && pid > 0)
            ::kill(pid, SIGKILL);
    };
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

nlohmann::json RuntimeOCI::stats(const std::string&) {
    throw RuntimeError(RuntimeErrorKind::Unimplemented,
                       "container stats are not implemented by berth yet");
}

}  // namespace berth::oci
