#include "exec_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "berth/oci/runtime_error.hpp"
#include "command.hpp"

namespace berth::oci {
namespace {

constexpr std::size_t kReadChunk = 32 * 1024;

// A pipe whose berthd end is non-blocking (polled) and close-on-exec.
std::pair<UniqueFd, UniqueFd> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           std::string("pipe for exec: ") + std::strerror(errno));
    }
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_nonblocking(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Waits until `fd` is ready for `events` or `wake` fires; false on wake-up or error.
bool wait_ready(int fd, short events, int wake) {
    pollfd fds[2] = {{fd, events, 0}, {wake, POLLIN, 0}};
    for (;;) {
        const int ready = ::poll(fds, 2, -1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0 || (fds[1].revents & POLLIN))
            return false;
        return true;
    }
}

}  // namespace

ExecSession::ExecSession(const std::vector<std::string>& argv, const ExecOptions& options,
                         std::unique_ptr<ExecProcessSpec> spec)
    : options_(options), spec_(std::move(spec)) {
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           std::string("eventfd for exec: ") + std::strerror(errno));
    }
    SpawnStdio stdio;
    UniqueFd child_in, child_out, child_err, child_terminal;
    if (options_.tty) {
        int master = -1, slave = -1;
        if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
            throw RuntimeError(RuntimeErrorKind::Internal,
                               std::string("openpty for exec: ") + std::strerror(errno));
        }
        terminal_.reset(master);
        child_terminal.reset(slave);
        ::fcntl(master, F_SETFD, FD_CLOEXEC);
        ::fcntl(slave, F_SETFD, FD_CLOEXEC);
        // Raw from the start: the runtime makes it raw too, but input sent
        // before that must not be echoed back or translated.
        termios mode{};
        if (::tcgetattr(slave, &mode) == 0) {
            ::cfmakeraw(&mode);
            ::tcsetattr(slave, TCSANOW, &mode);
        }
        set_nonblocking(master);
        stdio = {slave, slave, slave, true};
        errors_open_ = false;
    } else {
        if (options_.stdin) {
            auto [read_end, write_end] = make_pipe();
            child_in = std::move(read_end);
            input_ = std::move(write_end);
            set_nonblocking(input_.get());
        }
        if (options_.stdout) {
            auto [read_end, write_end] = make_pipe();
            output_ = std::move(read_end);
            child_out = std::move(write_end);
            set_nonblocking(output_.get());
        } else {
            output_open_ = false;
        }
        if (options_.stderr) {
            auto [read_end, write_end] = make_pipe();
            errors_ = std::move(read_end);
            child_err = std::move(write_end);
            set_nonblocking(errors_.get());
        } else {
            errors_open_ = false;
        }
        stdio = {child_in.get(), child_out.get(), child_err.get(), false};
    }
    try {
        runtime_pid_ = spawn_process(argv, stdio);
    } catch (const std::system_error& error) {
        throw RuntimeError(RuntimeErrorKind::CannotRun, error.what());
    }
    // The child's ends close here, so that end of output is seen when the
    // command (and the runtime) are gone.
}

ExecSession::~ExecSession() {
    if (!reaped_) {
        kill_command();
        wait();
    }
}

std::optional<OutputChunk> ExecSession::read_output() {
    char buffer[kReadChunk];
    for (;;) {
        const int out_fd = output_open_ ? (options_.tty ? terminal_.get() : output_.get()) : -1;
        const int err_fd = errors_open_ ? errors_.get() : -1;
        if (out_fd < 0 && err_fd < 0)
            return std::nullopt;
        pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {wake_.get(), POLLIN, 0}};
        const int ready = ::poll(fds, 3, -1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0 || (fds[2].revents & POLLIN))
            return std::nullopt;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
            if (got > 0) {
                return OutputChunk{i == 0 ? OutputStream::Stdout : OutputStream::Stderr,
                                   std::string(buffer, static_cast<std::size_t>(got))};
            }
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            // 0 on a pipe; EIO on a pty master once every slave end closed.
            (i == 0 ? output_open_ : errors_open_) = false;
        }
    }
}

bool ExecSession::write_input(std::string_view data) {
    std::lock_guard lock(input_mutex_);
    const int fd = options_.tty ? (options_.stdin ? terminal_.get() : -1) : input_.get();
    if (fd < 0)
        return false;
    while (!data.empty()) {
        const ssize_t written = ::write(fd, data.data(), data.size());
        if (written > 0) {
            data.remove_prefix(static_cast<std::size_t>(written));
            continue;
        }
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0 && errno == EAGAIN && wait_ready(fd, POLLOUT, wake_.get()))
            continue;
        return false;  // EPIPE: the command closed its stdin or is gone
    }
    return true;
}

void ExecSession::close_input() {
    std::lock_guard lock(input_mutex_);
    if (options_.tty) {
        // A terminal has no end of file: ^D at the start of a line is how a
        // typist ends input, and what the command's line discipline expects.
        if (options_.stdin && terminal_)
            (void)!::write(terminal_.get(), "\x04", 1);
        return;
    }
    input_.reset();
}

void ExecSession::resize(std::uint16_t width, std::uint16_t height) {
    if (!options_.tty || !terminal_)
        return;
    winsize size{};
    size.ws_col = width;
    size.ws_row = height;
    ::ioctl(terminal_.get(), TIOCSWINSZ, &size);
    // The runtime copies our terminal's size to the container's on SIGWINCH.
    if (!reaped_)
        ::kill(runtime_pid_, SIGWINCH);
}

std::optional<int> ExecSession::wait() {
    std::lock_guard lock(wait_mutex_);
    if (!exit_code_) {
        exit_code_ = wait_for_exit(runtime_pid_);
        reaped_ = true;
    }
    return exit_code_;
}

void ExecSession::cancel() {
    const std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    kill_command();
}

void ExecSession::kill_command() {
    // The runtime does not kill what it started when it is killed itself:
    // the command goes first, then the runtime (still starting it, perhaps).
    // Once the runtime is reaped its pid may belong to someone else.
    if (reaped_)
        return;
    if (const pid_t pid = spec_ ? spec_->command_pid() : 0; pid > 0)
        ::kill(pid, SIGKILL);
    else if (runtime_pid_ > 0)
        ::kill(runtime_pid_, SIGKILL);
}

}  // namespace berth::oci
