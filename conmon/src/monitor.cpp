#include "monitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>

#include "atomic_file.hpp"
#include "attach_server.hpp"
#include "berth/conmon/cri_log.hpp"
#include "ctl_fifo.hpp"
#include "event_loop.hpp"
#include "oom_watcher.hpp"
#include "runtime_create.hpp"
#include "stdin_writer.hpp"
#include "sync_pipe.hpp"

namespace berth::conmon {

namespace {

// Read size for the container's output: also the largest P record.
constexpr std::size_t kReadBuffer = 8192;
// How much output a slow attach client may fall behind before it is dropped.
constexpr std::size_t kClientBacklog = 1024 * 1024;
constexpr std::size_t kStdinBacklog = 1024 * 1024;
// After the container exits, output still in the pipes is drained for at
// most this long (a daemonised grandchild may keep them open for ever).
constexpr long kDrainMillis = 2000;

long now_millis() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000 + now.tv_nsec / 1'000'000;
}

int exit_code(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void create_empty_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
}

class Monitor {
public:
    explicit Monitor(const Options& options)
        : options_(options),
          sync_(options.sync_fd),
          log_(options.log_dir, options.log_path, options.log_size_max) {}

    int run();

private:
    bool prepare(std::string& error);
    void watch_output(UniqueFd fd, Stream stream);
    void relay_output(int fd, Stream stream);
    void close_output(int fd, Stream stream);
    void reap_children();
    void check_oom();
    void finish();

    const Options& options_;
    SyncPipe sync_;
    CriLog log_;
    EventLoop loop_;
    UniqueFd signals_;
    std::unique_ptr<AttachServer> attach_;
    std::unique_ptr<CtlFifo> ctl_;
    std::unique_ptr<StdinWriter> stdin_;
    std::unique_ptr<OomWatcher> oom_;
    UniqueFd outputs_[2];
    int terminal_fd_ = -1;
    pid_t container_pid_ = -1;
    std::optional<int> exit_status_;
    bool oom_killed_ = false;
};

bool Monitor::prepare(std::string& error) {
    // SIGCHLD is taken through a signalfd; blocked before the runtime is
    // forked so that no exit can slip past.
    sigset_t child_signal;
    sigemptyset(&child_signal);
    sigaddset(&child_signal, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &child_signal, nullptr);
    signals_.reset(::signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_ || !loop_.valid()) {
        error = std::string("signalfd/epoll: ") + std::strerror(errno);
        return false;
    }
    if (!log_.open()) {
        error = "cannot open the container log: " + log_.error();
        return false;
    }
    // The attach socket and control fifo exist before berthd learns the pid,
    // so it may attach or resize right after the sync line.
    attach_ = std::make_unique<AttachServer>(loop_, options_.attach_socket, kClientBacklog);
    if (!attach_->valid()) {
        error = "cannot listen on attach socket " + options_.attach_socket + ": " +
                std::strerror(errno);
        return false;
    }
    ctl_ = std::make_unique<CtlFifo>(loop_, options_.ctl_fifo);
    if (!ctl_->valid()) {
        error = "cannot create control fifo " + options_.ctl_fifo + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

int Monitor::run() {
    std::string error;
    if (!prepare(error)) {
        sync_.report_error(error);
        return 1;
    }
    CreateResult created = create_container(options_);
    if (created.pid <= 0) {
        sync_.report_error(created.error);
        return 1;
    }
    container_pid_ = created.pid;

    if (options_.terminal) {
        terminal_fd_ = created.stdio.stdout_reader.get();
    }
    watch_output(std::move(created.stdio.stdout_reader), Stream::kStdout);
    if (created.stdio.stderr_reader) {
        watch_output(std::move(created.stdio.stderr_reader), Stream::kStderr);
    }
    stdin_ =
        std::make_unique<StdinWriter>(loop_, std::move(created.stdio.stdin_writer), kStdinBacklog);
    stdin_->on_room = [this] { attach_->pause_input(!stdin_->has_room()); };
    attach_->on_input = [this](std::string_view data) {
        stdin_->write(data);
        attach_->pause_input(!stdin_->has_room());
    };
    attach_->on_first_client_gone = [this] {
        if (options_.stdin_once) {
            stdin_->close_when_drained();
        }
    };
    ctl_->on_resize = [this](unsigned short height, unsigned short width) {
        if (terminal_fd_ >= 0) {
            winsize size{};
            size.ws_row = height;
            size.ws_col = width;
            ::ioctl(terminal_fd_, TIOCSWINSZ, &size);
        }
    };
    // A path that cannot be opened (or is refused) keeps the old file in
    // use: berthd sees that no regular file appeared and says so.
    ctl_->on_reopen_log = [this] { log_.reopen(); };
    loop_.add(signals_.get(), EPOLLIN, [this](std::uint32_t) { reap_children(); });

    oom_ = OomWatcher::for_process(container_pid_);
    if (oom_) {
        loop_.add(oom_->fd(), EPOLLIN, [this](std::uint32_t) { check_oom(); });
    }
    sync_.report_pid(container_pid_);

    long drain_deadline = 0;
    for (;;) {
        if (exit_status_) {
            if (drain_deadline == 0) {
                drain_deadline = now_millis() + kDrainMillis;
            }
            const long remaining = drain_deadline - now_millis();
            if ((!outputs_[0] && !outputs_[1]) || remaining <= 0) {
                break;
            }
            loop_.run_once(static_cast<int>(remaining));
        } else {
            loop_.run_once(-1);
        }
    }
    finish();
    return 0;
}

void Monitor::watch_output(UniqueFd fd, Stream stream) {
    const int number = fd.get();
    outputs_[stream == Stream::kStdout ? 0 : 1] = std::move(fd);
    loop_.add(number, EPOLLIN,
              [this, number, stream](std::uint32_t) { relay_output(number, stream); });
}

void Monitor::relay_output(int fd, Stream stream) {
    char buffer[kReadBuffer];
    const ssize_t count = ::read(fd, buffer, sizeof buffer);
    if (count > 0) {
        const std::string_view data(buffer, static_cast<std::size_t>(count));
        log_.write(stream, data);
        attach_->broadcast(stream, data);
        return;
    }
    if (count < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    // EOF; a pty master reports EIO once the last slave fd is closed.
    close_output(fd, stream);
}

void Monitor::close_output(int fd, Stream stream) {
    loop_.remove(fd);
    log_.finish(stream);
    if (fd == terminal_fd_) {
        terminal_fd_ = -1;
    }
    outputs_[stream == Stream::kStdout ? 0 : 1].reset();
}

void Monitor::reap_children() {
    signalfd_siginfo info{};
    while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
    }
    // Besides the container's init, orphans reparented to us (we are a
    // subreaper) are reaped here too.
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == container_pid_) {
            exit_status_ = exit_code(status);
        }
    }
}

void Monitor::check_oom() {
    if (oom_ && oom_->check()) {
        oom_killed_ = true;
    }
}

void Monitor::finish() {
    // The OOM notification can trail the exit; look once more.
    check_oom();
    if (oom_killed_ && !options_.oom_file.empty()) {
        create_empty_file(options_.oom_file);
    }
    for (int index = 0; index < 2; ++index) {
        if (outputs_[index]) {
            close_output(outputs_[index].get(), index == 0 ? Stream::kStdout : Stream::kStderr);
        }
    }
    log_.sync();
    stdin_.reset();
    attach_.reset();  // removes the socket
    ctl_.reset();     // removes the fifo
    // Last: berthd's inotify on the exits directory sees the complete file.
    write_file_atomically(options_.exit_file, std::to_string(exit_status_.value_or(-1)));
}

}  // namespace

int run_monitor(const Options& options) {
    return Monitor(options).run();
}

}  // namespace berth::conmon
