// Running a runtime binary (runc, crun) to completion with a time limit,
// capturing what it prints. posix_spawn keeps berthd's memory out of the
// picture (no copy-on-write fork of a large process).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace berth::oci {

struct CommandResult {
    int exit_code = -1;  // 128+signal when killed by one
    bool timed_out = false;
    std::string out;
    std::string err;
    std::size_t dropped_out = 0;  // bytes beyond max_output, read and discarded
    std::size_t dropped_err = 0;
};

struct CommandOptions {
    std::size_t max_output = 1 << 20;  // per stream
    // Runs when the time is up, before the child is killed: what the child
    // started elsewhere (a process inside a container) is ended here. The
    // child then has 2 s to exit by itself.
    std::function<void()> on_timeout;
    // Where the child starts ("": berthd's own directory), what it gets in
    // its environment besides berthd's ("NAME=value"), and what it reads on
    // stdin (else /dev/null; at most a pipe's worth).
    std::string working_directory;
    std::vector<std::string> extra_environment;
    std::string input;
};

// The child starts with an empty signal mask, default dispositions and no
// fds but 0 (/dev/null), 1 and 2 (pipes). After `timeout` it is killed
// (SIGKILL) and reaped. Throws std::system_error when it cannot be started.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const CommandOptions& options = {});

// The standard fds of a spawned child: -1 gives it /dev/null there.
struct SpawnStdio {
    int in = -1;
    int out = -1;
    int err = -1;
    bool new_session = false;  // setsid(): no controlling terminal of berthd's
};

// Where a spawned child starts and what it finds in its environment.
struct SpawnContext {
    std::string working_directory;               // "": berthd's
    std::vector<std::string> extra_environment;  // "NAME=value" beside berthd's
};

// Starts `argv` (an absolute path first) with those fds as 0, 1 and 2 and no
// others, an empty signal mask and default dispositions. Throws
// std::system_error when it cannot be started. The caller reaps it.
pid_t spawn_process(const std::vector<std::string>& argv, const SpawnStdio& stdio,
                    const SpawnContext& context = {});

// Reaps `pid`: its exit code, 128+signal when a signal ended it.
int wait_for_exit(pid_t pid);

// berthd's environment without what systemd gave berthd itself:
// NOTIFY_SOCKET (runc would otherwise wait for the container to send
// READY=1), LISTEN_* and WATCHDOG_*.
class ChildEnvironment {
public:
    explicit ChildEnvironment(const std::vector<std::string>& extra = {});
    char** get() { return pointers_.data(); }

private:
    std::vector<std::string> entries_;
    std::vector<char*> pointers_;
};

// The command line for messages: "runc --root /x start id".
std::string join_command(const std::vector<std::string>& argv);

}  // namespace berth::oci
