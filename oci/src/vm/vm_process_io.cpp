#include "vm/vm_process_io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include <spdlog/spdlog.h>

#include "berth/shim_api.hpp"
#include "exec_process_spec.hpp"

namespace berth::oci::vm {

namespace task_api = containerd::task::v2;

namespace {

constexpr const char* kProcessTypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Process";

stream::OwnedFd make_eventfd() {
    stream::OwnedFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd)
        throw RuntimeError(RuntimeErrorKind::Internal,
                           std::string("eventfd: ") + std::strerror(errno));
    return fd;
}

void signal_eventfd(int fd) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto ignored = ::write(fd, &one, sizeof one);
}

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0)
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Writes all of `data` to the non-blocking fd `*fd`, waiting (unlocked)
// while the pipe is full; `guard` is held only for each write, so that a
// session stuck on a full pipe never holds up another one. False when the
// reader is gone, the fd was closed or `wake` fired (the session ends).
bool write_all(std::mutex& guard, const stream::OwnedFd& fd, int wake, std::string_view data) {
    while (!data.empty()) {
        int raw = -1;
        ssize_t written = -1;
        {
            std::lock_guard lock(guard);
            if (!fd)
                return false;
            raw = fd.get();
            written = ::write(raw, data.data(), data.size());
        }
        if (written > 0) {
            data.remove_prefix(static_cast<std::size_t>(written));
            continue;
        }
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0 && errno != EAGAIN)
            return false;
        // Woken at least every 100 ms: the fd may be closed meanwhile.
        pollfd polled[2] = {{raw, POLLOUT, 0}, {wake, POLLIN, 0}};
        if (::poll(polled, 2, 100) < 0 && errno != EINTR)
            return false;
        if (polled[1].revents != 0 || (polled[0].revents & (POLLERR | POLLHUP)) != 0)
            return false;
    }
    return true;
}

std::string new_exec_id() {
    std::random_device random;
    std::uniform_int_distribution<unsigned> digit(0, 15);
    std::string id = "berth-";
    for (int i = 0; i < 16; ++i)
        id += "0123456789abcdef"[digit(random)];
    return id;
}

}  // namespace

std::unique_ptr<ExecIo> start_exec(const std::shared_ptr<Task>& task, const ExecOptions& options) {
    const std::string exec_id = new_exec_id();
    const bool terminal = options.tty;
    const auto process = exec_process_json(task->directory, options.command, terminal);
    auto fifos = open_task_fifos(task->directory + "/" + exec_id + "-", options.stdin,
                                 options.stdout || terminal, options.stderr && !terminal);
    task_api::ExecProcessRequest request;
    request.set_id(task->id);
    request.set_exec_id(exec_id);
    request.set_terminal(terminal);
    request.set_stdin(fifos.stdin_path);
    request.set_stdout(fifos.stdout_path);
    request.set_stderr(fifos.stderr_path);
    request.mutable_spec()->set_type_url(kProcessTypeUrl);
    request.mutable_spec()->set_value(process.dump());
    try {
        task->shim->call<google::protobuf::Empty>("Exec", request);
    } catch (...) {
        fifos.unlink();
        throw;
    }
    // From here the ExecIo owns the process: its destructor deletes it.
    auto io = std::make_unique<ExecIo>(task, exec_id, std::move(fifos), terminal);
    task_api::StartRequest start;
    start.set_id(task->id);
    start.set_exec_id(exec_id);
    task->shim->call<task_api::StartResponse>("Start", start);
    return io;
}

ExecIo::ExecIo(std::shared_ptr<Task> task, std::string exec_id, TaskFifos fifos, bool terminal)
    : task_(std::move(task)),
      exec_id_(std::move(exec_id)),
      fifos_(std::move(fifos)),
      terminal_(terminal),
      wake_(make_eventfd()),
      open_{fifos_.stdout_fd.valid(), fifos_.stderr_fd.valid()} {
    if (fifos_.stdin_fd)
        set_nonblocking(fifos_.stdin_fd.get());
}

ExecIo::~ExecIo() {
    try {
        if (!waited_) {
            task_api::KillRequest kill;
            kill.set_id(task_->id);
            kill.set_exec_id(exec_id_);
            kill.set_signal(SIGKILL);
            try {
                task_->shim->call<google::protobuf::Empty>("Kill", kill);
            } catch (const RuntimeError& error) {
                if (error.kind() != RuntimeErrorKind::NotFound)
                    throw;
            }
            task_api::WaitRequest wait;
            wait.set_id(task_->id);
            wait.set_exec_id(exec_id_);
            task_->shim->call<task_api::WaitResponse>("Wait", wait);
        }
        task_api::DeleteRequest remove;
        remove.set_id(task_->id);
        remove.set_exec_id(exec_id_);
        task_->shim->call<task_api::DeleteResponse>("Delete", remove);
    } catch (const std::exception& error) {
        spdlog::debug("exec {} in {}: cleaning up: {}", exec_id_, task_->id, error.what());
    }
    fifos_.unlink();
}

void ExecIo::wake() {
    signal_eventfd(wake_.get());
}

std::optional<OutputChunk> ExecIo::read_output() {
    return read_output_until(std::chrono::steady_clock::time_point::max());
}

std::optional<OutputChunk> ExecIo::read_output_until(
    std::chrono::steady_clock::time_point deadline) {
    const int fds[2] = {fifos_.stdout_fd.get(), fifos_.stderr_fd.get()};
    const OutputStream streams[2] = {OutputStream::Stdout, OutputStream::Stderr};
    while ((open_[0] || open_[1]) && !cancelled_) {
        int wait_ms = -1;
        if (deadline != std::chrono::steady_clock::time_point::max()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                timed_out_ = true;
                return std::nullopt;
            }
            wait_ms = static_cast<int>(left.count());
        }
        pollfd polled[3] = {{open_[0] ? fds[0] : -1, POLLIN, 0},
                            {open_[1] ? fds[1] : -1, POLLIN, 0},
                            {wake_.get(), POLLIN, 0}};
        if (::poll(polled, 3, wait_ms) < 0 && errno != EINTR)
            return std::nullopt;
        for (int index = 0; index < 2; ++index) {
            if (!open_[index] || (polled[index].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
                continue;
            char buffer[32 * 1024];
            const ssize_t got = ::read(fds[index], buffer, sizeof buffer);
            if (got > 0)
                return OutputChunk{streams[index],
                                   std::string(buffer, static_cast<std::size_t>(got))};
            if (got == 0 || (errno != EINTR && errno != EAGAIN))
                open_[index] = false;  // the command's stream ended
        }
    }
    return std::nullopt;
}

bool ExecIo::write_input(std::string_view data) {
    if (cancelled_)
        return false;
    return write_all(input_mutex_, fifos_.stdin_fd, wake_.get(), data);
}

void ExecIo::close_input() {
    {
        std::lock_guard lock(input_mutex_);
        if (!fifos_.stdin_fd)
            return;
        fifos_.stdin_fd.reset();
    }
    // berthd's end is O_RDWR, so closing it is no end of file for the shim:
    // CloseIO is.
    task_api::CloseIORequest request;
    request.set_id(task_->id);
    request.set_exec_id(exec_id_);
    request.set_stdin(true);
    try {
        task_->shim->call<google::protobuf::Empty>("CloseIO", request);
    } catch (const std::exception& error) {
        spdlog::debug("exec {} in {}: CloseIO: {}", exec_id_, task_->id, error.what());
    }
}

void ExecIo::resize(std::uint16_t width, std::uint16_t height) {
    if (!terminal_)
        return;
    task_api::ResizePtyRequest request;
    request.set_id(task_->id);
    request.set_exec_id(exec_id_);
    request.set_width(width);
    request.set_height(height);
    try {
        task_->shim->call<google::protobuf::Empty>("ResizePty", request);
    } catch (const std::exception& error) {
        spdlog::debug("exec {} in {}: ResizePty: {}", exec_id_, task_->id, error.what());
    }
}

std::optional<int> ExecIo::wait() {
    return wait_until(std::chrono::steady_clock::time_point::max());
}

std::optional<int> ExecIo::wait_until(std::chrono::steady_clock::time_point deadline) {
    task_api::WaitRequest request;
    request.set_id(task_->id);
    request.set_exec_id(exec_id_);
    auto limit = std::chrono::milliseconds(0);  // none
    if (deadline != std::chrono::steady_clock::time_point::max()) {
        limit = std::max(std::chrono::milliseconds(1),
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now()));
    }
    try {
        const auto response = task_->shim->call<task_api::WaitResponse>("Wait", request, limit);
        waited_ = true;
        return static_cast<int>(response.exit_status());
    } catch (const RuntimeError& error) {
        if (error.kind() == RuntimeErrorKind::DeadlineExceeded && limit.count() > 0) {
            timed_out_ = true;
            return std::nullopt;
        }
        spdlog::warn("exec {} in {}: {}", exec_id_, task_->id, error.what());
        waited_ = true;
        return 255;  // the shim is gone: whatever the command did is unknown
    }
}

void ExecIo::cancel() {
    cancel_within(task_->shim->timeout());
}

void ExecIo::cancel_within(std::chrono::milliseconds timeout) {
    cancelled_ = true;
    wake();
    task_api::KillRequest request;
    request.set_id(task_->id);
    request.set_exec_id(exec_id_);
    request.set_signal(SIGKILL);
    try {
        task_->shim->call<google::protobuf::Empty>("Kill", request, timeout);
    } catch (const std::exception& error) {
        spdlog::debug("exec {} in {}: Kill: {}", exec_id_, task_->id, error.what());
    }
}

AttachIo::AttachIo(std::shared_ptr<Task> task, const AttachOptions& options)
    : task_(std::move(task)), options_(options), wake_(make_eventfd()) {
    if (!task_->relay)
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "container " + task_->id + " has no output to attach to");
    subscriber_ = task_->relay->subscribe();
}

AttachIo::~AttachIo() {
    if (task_->relay)
        task_->relay->unsubscribe(subscriber_);
}

std::optional<OutputChunk> AttachIo::read_output() {
    if (cancelled_)
        return std::nullopt;
    return subscriber_->next();
}

bool AttachIo::write_input(std::string_view data) {
    if (!options_.stdin || cancelled_)
        return false;
    return write_all(task_->stdin_mutex, task_->stdin_fd, wake_.get(), data);
}

void AttachIo::close_input() {
    if (!options_.stdin || !options_.stdin_once)
        return;  // the container's stdin stays open for the next client
    {
        std::lock_guard lock(task_->stdin_mutex);
        if (!task_->stdin_fd)
            return;
        task_->stdin_fd.reset();
    }
    task_api::CloseIORequest request;
    request.set_id(task_->id);
    request.set_stdin(true);
    try {
        task_->shim->call<google::protobuf::Empty>("CloseIO", request);
    } catch (const std::exception& error) {
        spdlog::debug("attach to {}: CloseIO: {}", task_->id, error.what());
    }
}

void AttachIo::resize(std::uint16_t width, std::uint16_t height) {
    if (!options_.tty)
        return;
    task_api::ResizePtyRequest request;
    request.set_id(task_->id);
    request.set_width(width);
    request.set_height(height);
    try {
        task_->shim->call<google::protobuf::Empty>("ResizePty", request);
    } catch (const std::exception& error) {
        spdlog::debug("attach to {}: ResizePty: {}", task_->id, error.what());
    }
}

void AttachIo::cancel() {
    cancelled_ = true;
    signal_eventfd(wake_.get());
    subscriber_->close();
}

}  // namespace berth::oci::vm
