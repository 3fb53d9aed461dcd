// A child process for integration tests: started with its own arguments and
// environment, stdout/stderr captured to files, killed and reaped if the
// test ends first. Nothing is left running after a test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::test {

struct ChildOptions {
    std::vector<std::string> argv;
    std::map<std::string, std::string> environment;  // added to (or replacing) ours
    std::string stdout_file = "/dev/null";
    std::string stderr_file = "/dev/null";
    // Runs in the child just before exec (e.g. to move an fd into place).
    std::function<void()> before_exec;
};

class ChildProcess {
public:
    explicit ChildProcess(ChildOptions options);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int signal_number) const;

    // The exit status (or 128 + signal) if the process ended within `timeout`.
    std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);
    bool running();

private:
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

// Runs a command to completion and returns its exit code and stdout+stderr.
struct CommandResult {
    int exit_code = -1;
    std::string output;
};
CommandResult run_command(const std::string& command_line);

std::string read_file(const std::string& path);

}  // namespace berth::test
