// ProcessIo for a command started with `runtime exec` (runc, crun). The
// runtime stays in the foreground as the command's parent, so its exit code
// is the command's. Without a tty the command gets berthd's pipe ends
// directly (the runtime passes its stdio through); with a tty berthd gives
// the runtime a pseudo-terminal of its own as stdio, which the runtime
// relays to the container's terminal and resizes on SIGWINCH.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "berth/oci/process_io.hpp"
#include "berth/oci/unique_fd.hpp"
#include "exec_process_spec.hpp"

namespace berth::oci {

class ExecSession final : public ProcessIo {
public:
    // Starts `argv` (the full runtime command line). Throws RuntimeError
    // (CannotRun) when it cannot be started.
    ExecSession(const std::vector<std::string>& argv, const ExecOptions& options,
                std::unique_ptr<ExecProcessSpec> spec);
    // Kills the command if it still runs and reaps the runtime.
    ~ExecSession() override;

    std::optional<OutputChunk> read_output() override;
    bool write_input(std::string_view data) override;
    void close_input() override;
    void resize(std::uint16_t width, std::uint16_t height) override;
    std::optional<int> wait() override;
    void cancel() override;

private:
    void kill_command();

    ExecOptions options_;
    std::unique_ptr<ExecProcessSpec> spec_;
    pid_t runtime_pid_ = -1;
    UniqueFd terminal_;  // pty master: input and output with a tty
    UniqueFd input_;     // pipe to the command's stdin
    UniqueFd output_;    // pipe from its stdout
    UniqueFd errors_;    // pipe from its stderr
    UniqueFd wake_;      // eventfd: cancel() unblocks polls
    bool output_open_ = true;
    bool errors_open_ = true;

    std::mutex input_mutex_;
    std::mutex wait_mutex_;
    std::optional<int> exit_code_;
    std::atomic<bool> reaped_{false};
};

}  // namespace berth::oci
