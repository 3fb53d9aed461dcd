// The streaming server's Exec and Attach for containers of a VM runtime: an
// exec is a process the shim starts in the task (Task.Exec + Task.Start)
// with fifos of its own; an attach joins the container's output relay and
// its stdin fifo.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "berth/oci/process_io.hpp"
#include "vm/task.hpp"
#include "vm/task_fifos.hpp"

namespace berth::oci::vm {

class ExecIo;

// Starts `options.command` in the task. Throws RuntimeError (the shim's
// refusal, a shim that does not answer).
std::unique_ptr<ExecIo> start_exec(const std::shared_ptr<Task>& task, const ExecOptions& options);

class ExecIo final : public ProcessIo {
public:
    ExecIo(std::shared_ptr<Task> task, std::string exec_id, TaskFifos fifos, bool terminal);
    // Kills the command if it still runs and deletes it from the shim.
    ~ExecIo() override;

    std::optional<OutputChunk> read_output() override;
    // The same, giving up at `deadline` (nullopt with timed_out() true).
    std::optional<OutputChunk> read_output_until(std::chrono::steady_clock::time_point deadline);
    bool timed_out() const { return timed_out_; }
    bool write_input(std::string_view data) override;
    void close_input() override;
    void resize(std::uint16_t width, std::uint16_t height) override;
    std::optional<int> wait() override;
    // The same, giving up at `deadline` (nullopt with timed_out() true).
    std::optional<int> wait_until(std::chrono::steady_clock::time_point deadline);
    void cancel() override;
    // cancel(), with the shim's Kill given at most `timeout`: for berthd's
    // exit, which a shim that does not answer must not hold up.
    void cancel_within(std::chrono::milliseconds timeout);

private:
    void wake();

    std::shared_ptr<Task> task_;
    std::string exec_id_;
    TaskFifos fifos_;
    bool terminal_;
    stream::OwnedFd wake_;  // eventfd: cancel()
    std::mutex input_mutex_;
    bool open_[2];
    bool timed_out_ = false;
    std::atomic<bool> cancelled_{false};
    std::atomic<bool> waited_{false};
};

class AttachIo final : public ProcessIo {
public:
    AttachIo(std::shared_ptr<Task> task, const AttachOptions& options);
    ~AttachIo() override;

    std::optional<OutputChunk> read_output() override;
    bool write_input(std::string_view data) override;
    void close_input() override;
    void resize(std::uint16_t width, std::uint16_t height) override;
    std::optional<int> wait() override { return std::nullopt; }
    void cancel() override;

private:
    std::shared_ptr<Task> task_;
    AttachOptions options_;
    std::shared_ptr<OutputSubscriber> subscriber_;
    stream::OwnedFd wake_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace berth::oci::vm
