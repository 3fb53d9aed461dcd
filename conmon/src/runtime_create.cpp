#include "runtime_create.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "atomic_file.hpp"
#include "unix_socket.hpp"

namespace berth::conmon {

namespace {

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

bool make_pipe(Pipe& pipe) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return false;
    }
    pipe.read.reset(fds[0]);
    pipe.write.reset(fds[1]);
    return true;
}

// The private directory holding the console socket, removed when done.
class ConsoleDir {
public:
    ConsoleDir() {
        const char* tmp = ::getenv("TMPDIR");
        std::string pattern =
            std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/berth-conmon-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) {
            path_ = pattern;
        }
    }
    ~ConsoleDir() {
        if (!path_.empty()) {
            ::unlink(socket_path().c_str());
            ::rmdir(path_.c_str());
        }
    }
    ConsoleDir(const ConsoleDir&) = delete;
    ConsoleDir& operator=(const ConsoleDir&) = delete;

    bool valid() const { return !path_.empty(); }
    std::string socket_path() const { return path_ + "/console.sock"; }

private:
    std::string path_;
};

std::vector<std::string> runtime_arguments(const Options& options, const std::string& console) {
    std::vector<std::string> args{options.runtime};
    if (options.systemd_cgroup) {
        args.emplace_back("--systemd-cgroup");
    }
    args.insert(args.end(), {"--root", options.runtime_root, "create", "--bundle", options.bundle,
                             "--pid-file", options.container_pidfile});
    if (!console.empty()) {
        args.insert(args.end(), {"--console-socket", console});
    }
    args.push_back(options.container_id);
    return args;
}

// In the forked child: undo what berth-conmon set up for itself (ignored and
// blocked signals are inherited through exec) and become the runtime.
[[noreturn]] void exec_runtime(std::vector<std::string>& args, int stdin_fd, int stdout_fd,
                               int stderr_fd) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (const int signal_number : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) {
        ::signal(signal_number, SIG_DFL);
    }
    if (::dup2(stdin_fd, 0) < 0 || ::dup2(stdout_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0) {
        ::_exit(127);
    }
    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    const std::string message =
        "cannot execute runtime " + args[0] + ": " + std::strerror(errno) + "\n";
    [[maybe_unused]] const auto ignored = ::write(2, message.data(), message.size());
    ::_exit(127);
}

std::string read_available(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    std::string text;
    char buffer[4096];
    while (text.size() < 65536) {
        const ssize_t count = ::read(fd, buffer, sizeof buffer);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            break;
        }
        text.append(buffer, static_cast<size_t>(count));
    }
    return text;
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) {
        return "runtime create failed with exit status " + std::to_string(WEXITSTATUS(status));
    }
    return "runtime create killed by signal " + std::to_string(WTERMSIG(status));
}

}  // namespace

CreateResult create_container(const Options& options) {
    CreateResult result;
    const auto fail = [&result](std::string message) {
        result.error = std::move(message);
        result.pid = -1;
        return std::move(result);
    };

    UniqueFd dev_null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!dev_null) {
        return fail(std::string("open /dev/null: ") + std::strerror(errno));
    }
    Pipe stdin_pipe;
    Pipe stdout_pipe;
    Pipe stderr_pipe;  // the container's stderr, or only the runtime's with a terminal
    if ((options.stdin_open && !options.terminal && !make_pipe(stdin_pipe)) ||
        (!options.terminal && !make_pipe(stdout_pipe)) || !make_pipe(stderr_pipe)) {
        return fail(std::string("pipe: ") + std::strerror(errno));
    }

    // Only a terminal needs the console socket (and its directory in /tmp).
    std::optional<ConsoleDir> console_dir;
    UniqueFd console_listener;
    std::string console_path;
    if (options.terminal) {
        console_dir.emplace();
        if (!console_dir->valid()) {
            return fail(std::string("console socket directory: ") + std::strerror(errno));
        }
        console_path = console_dir->socket_path();
        console_listener = listen_unix(console_path, SOCK_STREAM, 0600);
        if (!console_listener) {
            return fail(std::string("console socket: ") + std::strerror(errno));
        }
    }

    auto args = runtime_arguments(options, console_path);
    // With a terminal the container's stdio is the pty; the runtime itself
    // only gets a pipe for stderr so that its error message can be reported.
    const int child_stdin = stdin_pipe.read ? stdin_pipe.read.get() : dev_null.get();
    const int child_stdout = options.terminal ? dev_null.get() : stdout_pipe.write.get();
    const int child_stderr = stderr_pipe.write.get();
    const pid_t runtime_pid = ::fork();
    if (runtime_pid < 0) {
        return fail(std::string("fork: ") + std::strerror(errno));
    }
    if (runtime_pid == 0) {
        exec_runtime(args, child_stdin, child_stdout, child_stderr);
    }
    // Only the container may hold the write ends now, so that EOF on the
    // pipes means the container (and everything it spawned) is done.
    stdin_pipe.read.reset();
    stdout_pipe.write.reset();
    stderr_pipe.write.reset();

    UniqueFd master;
    // Woken by the runtime's exit itself (a pidfd), not by polling: `runtime
    // create` is on the path of every CreateContainer. Without pidfds
    // (kernels before 5.3) a 5 ms poll stands in.
    const UniqueFd runtime_exit(static_cast<int>(::syscall(SYS_pidfd_open, runtime_pid, 0)));
    int status = 0;
    for (;;) {
        const pid_t reaped = ::waitpid(runtime_pid, &status, WNOHANG);
        if (reaped == runtime_pid) {
            break;
        }
        if (reaped < 0 && errno != EINTR) {
            return fail(std::string("waitpid runtime: ") + std::strerror(errno));
        }
        pollfd waiting[2];
        nfds_t count = 0;
        if (runtime_exit) {
            waiting[count++] = {runtime_exit.get(), POLLIN, 0};
        }
        const bool console_pending = console_listener && !master;
        if (console_pending) {
            waiting[count++] = {console_listener.get(), POLLIN, 0};
        }
        const int timeout_ms = runtime_exit ? -1 : 5;
        if (::poll(waiting, count, timeout_ms) > 0 && console_pending &&
            (waiting[count - 1].revents & POLLIN) != 0) {
            UniqueFd connection(::accept4(console_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (connection) {
                master = receive_fd(connection.get());
            }
        }
    }
    if (console_listener && !master) {
        // The runtime may have sent the master and exited between two polls:
        // the connection is still queued.
        UniqueFd connection(::accept4(console_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (connection) {
            master = receive_fd(connection.get());
        }
    }

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string message = read_available(stderr_pipe.read.get());
        return fail(message.empty() ? describe_status(status) : message);
    }
    const std::string pid_text = read_small_file(options.container_pidfile);
    const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
    if (pid <= 0) {
        return fail("runtime wrote no container pid to " + options.container_pidfile);
    }
    if (options.terminal) {
        if (!master) {
            return fail("runtime sent no terminal on the console socket");
        }
        ::fcntl(master.get(), F_SETFL, ::fcntl(master.get(), F_GETFL) | O_NONBLOCK);
        if (options.stdin_open) {
            result.stdio.stdin_writer.reset(::fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
        }
        result.stdio.stdout_reader = std::move(master);
    } else {
        ::fcntl(stdout_pipe.read.get(), F_SETFL, O_NONBLOCK);
        ::fcntl(stderr_pipe.read.get(), F_SETFL, O_NONBLOCK);
        result.stdio.stdout_reader = std::move(stdout_pipe.read);
        result.stdio.stderr_reader = std::move(stderr_pipe.read);
        if (stdin_pipe.write) {
            ::fcntl(stdin_pipe.write.get(), F_SETFL, O_NONBLOCK);
            result.stdio.stdin_writer = std::move(stdin_pipe.write);
        }
    }
    result.pid = static_cast<pid_t>(pid);
    return result;
}

}  // namespace berth::conmon
