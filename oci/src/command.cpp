#include "command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <system_error>

extern char** environ;

namespace berth::oci {
namespace {

struct Pipe {
    int read = -1;
    int write = -1;
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe2");
        read = fds[0];
        write = fds[1];
    }
    ~Pipe() {
        close_read();
        close_write();
    }
    void close_read() {
        if (read >= 0)
            ::close(read);
        read = -1;
    }
    void close_write() {
        if (write >= 0)
            ::close(write);
        write = -1;
    }
};

struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
};

int wait_status_to_code(int status) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

ChildEnvironment::ChildEnvironment(const std::vector<std::string>& extra) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text = *entry;
        if (text.rfind("NOTIFY_SOCKET=", 0) == 0 || text.rfind("LISTEN_", 0) == 0 ||
            text.rfind("WATCHDOG_", 0) == 0) {
            continue;
        }
        entries_.push_back(text);
    }
    entries_.insert(entries_.end(), extra.begin(), extra.end());
    for (auto& entry : entries_)
        pointers_.push_back(entry.data());
    pointers_.push_back(nullptr);
}

std::string join_command(const std::vector<std::string>& argv) {
    std::string text;
    for (const auto& arg : argv)
        text += (text.empty() ? "" : " ") + arg;
    return text;
}

pid_t spawn_process(const std::vector<std::string>& argv, const SpawnStdio& stdio,
                    const SpawnContext& context) {
    SpawnSetup setup;
    if (stdio.in >= 0) {
        posix_spawn_file_actions_adddup2(&setup.actions, stdio.in, 0);
    } else {
        posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
    }
    for (const auto& [fd, target] : {std::pair{stdio.out, 1}, {stdio.err, 2}}) {
        if (fd >= 0) {
            posix_spawn_file_actions_adddup2(&setup.actions, fd, target);
        } else {
            posix_spawn_file_actions_addopen(&setup.actions, target, "/dev/null", O_WRONLY, 0);
        }
    }
    posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
    if (!context.working_directory.empty()) {
        posix_spawn_file_actions_addchdir_np(&setup.actions, context.working_directory.c_str());
    }
    // berthd blocks its signals in every thread and ignores SIGPIPE; the
    // runtime must start with neither.
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigfillset(&defaults);
    posix_spawnattr_setsigmask(&setup.attributes, &empty);
    posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (stdio.new_session) {
        flags |= POSIX_SPAWN_SETSID;
    }
    posix_spawnattr_setflags(&setup.attributes, flags);

    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    ChildEnvironment environment(context.extra_environment);
    const int spawned = posix_spawn(&pid, args[0], &setup.actions, &setup.attributes, args.data(),
                                    environment.get());
    if (spawned != 0) {
        throw std::system_error(spawned, std::generic_category(), "starting " + argv[0]);
    }
    return pid;
}

int wait_for_exit(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return wait_status_to_code(status);
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const CommandOptions& options) {
    Pipe out, err;
    std::optional<Pipe> in;
    SpawnStdio stdio{-1, out.write, err.write, false};
    if (!options.input.empty()) {
        in.emplace();
        stdio.in = in->read;
    }
    const pid_t pid =
        spawn_process(argv, stdio, {options.working_directory, options.extra_environment});
    out.close_write();
    err.close_write();
    if (in) {
        // Small enough for the pipe's buffer: written at once, then closed so
        // that the child sees its end.
        in->close_read();
        [[maybe_unused]] const auto written =
            ::write(in->write, options.input.data(), options.input.size());
        in->close_write();
    }

    CommandResult result;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    pollfd fds[2] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}};
    int open_streams = 2;
    char buffer[4096];
    while (open_streams > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            if (!result.timed_out && options.on_timeout) {
                result.timed_out = true;
                options.on_timeout();
                deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
                continue;
            }
            result.timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            const ssize_t got = ::read(fds[i].fd, buffer, sizeof(buffer));
            if (got > 0) {
                // Bounded: a chatty command must not exhaust berthd's memory.
                std::string& target = i == 0 ? result.out : result.err;
                std::size_t& dropped = i == 0 ? result.dropped_out : result.dropped_err;
                const auto length = static_cast<std::size_t>(got);
                const std::size_t room =
                    target.size() < options.max_output ? options.max_output - target.size() : 0;
                target.append(buffer, std::min(room, length));
                dropped += length - std::min(room, length);
            } else if (got == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_streams;
            }
        }
    }
    result.exit_code = wait_for_exit(pid);
    return result;
}

}  // namespace berth::oci
