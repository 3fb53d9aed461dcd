#include "vm/output_relay.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "berth/oci/runtime_error.hpp"

namespace berth::oci::vm {

namespace {

conmon::Stream log_stream(OutputStream stream) {
    return stream == OutputStream::Stdout ? conmon::Stream::kStdout : conmon::Stream::kStderr;
}

}  // namespace

std::optional<OutputChunk> OutputSubscriber::next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty())
        return std::nullopt;
    OutputChunk chunk = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= chunk.data.size();
    return chunk;
}

void OutputSubscriber::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    changed_.notify_all();
}

void OutputSubscriber::push(OutputStream stream, std::string_view data) {
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        if (queued_bytes_ + data.size() > kMaxQueued) {
            // A client that does not read must not hold the log up.
            closed_ = true;
        } else {
            queue_.push_back({stream, std::string(data)});
            queued_bytes_ += data.size();
        }
    }
    changed_.notify_all();
}

OutputRelay::OutputRelay(stream::OwnedFd stdout_fd, stream::OwnedFd stderr_fd,
                         const std::string& log_directory, std::string log_path,
                         std::uint64_t log_size_max)
    : stdout_fd_(std::move(stdout_fd)),
      stderr_fd_(std::move(stderr_fd)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      log_(log_directory, std::move(log_path), log_size_max) {
    if (!wake_)
        throw RuntimeError(RuntimeErrorKind::Internal,
                           std::string("eventfd for a log relay: ") + std::strerror(errno));
    if (!log_.open())
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "opening the container log: " + log_.error());
    thread_ = std::thread([this] { run(); });
}

OutputRelay::~OutputRelay() {
    stopping_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto ignored = ::write(wake_.get(), &one, sizeof one);
    thread_.join();
    std::lock_guard lock(subscribers_mutex_);
    for (const auto& subscriber : subscribers_)
        subscriber->close();
}

void OutputRelay::finish(std::chrono::milliseconds grace) {
    std::unique_lock lock(done_mutex_);
    if (done_changed_.wait_for(lock, grace, [&] { return done_; }))
        return;
    draining_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto ignored = ::write(wake_.get(), &one, sizeof one);
    done_changed_.wait(lock, [&] { return done_; });
}

void OutputRelay::reopen_log() {
    std::lock_guard lock(log_mutex_);
    if (!log_.reopen())
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "reopening the container log: " + log_.error());
}

std::shared_ptr<OutputSubscriber> OutputRelay::subscribe() {
    auto subscriber = std::make_shared<OutputSubscriber>();
    std::lock_guard lock(subscribers_mutex_);
    {
        std::lock_guard done(done_mutex_);
        if (done_) {
            subscriber->close();
            return subscriber;
        }
    }
    subscribers_.push_back(subscriber);
    return subscriber;
}

void OutputRelay::unsubscribe(const std::shared_ptr<OutputSubscriber>& subscriber) {
    subscriber->close();
    std::lock_guard lock(subscribers_mutex_);
    std::erase(subscribers_, subscriber);
}

void OutputRelay::deliver(OutputStream stream, std::string_view data) {
    {
        std::lock_guard lock(log_mutex_);
        log_.write(log_stream(stream), data);
    }
    std::lock_guard lock(subscribers_mutex_);
    for (const auto& subscriber : subscribers_)
        subscriber->push(stream, data);
}

void OutputRelay::end_stream(OutputStream stream) {
    std::lock_guard lock(log_mutex_);
    log_.finish(log_stream(stream));
}

bool OutputRelay::relay_from(int fd, OutputStream stream) {
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got > 0) {
            deliver(stream, std::string_view(buffer, static_cast<std::size_t>(got)));
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && errno == EAGAIN)
            return true;  // all read; the writer is still there
        return false;     // end of file (no writer left) or an error
    }
}

void OutputRelay::run() {
    bool open[2] = {stdout_fd_.valid(), stderr_fd_.valid()};
    const int fds[2] = {stdout_fd_.get(), stderr_fd_.get()};
    const OutputStream streams[2] = {OutputStream::Stdout, OutputStream::Stderr};
    while ((open[0] || open[1]) && !stopping_) {
        pollfd polled[3] = {{open[0] ? fds[0] : -1, POLLIN, 0},
                            {open[1] ? fds[1] : -1, POLLIN, 0},
                            {wake_.get(), POLLIN, 0}};
        if (::poll(polled, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (stopping_)
            break;
        for (int index = 0; index < 2; ++index) {
            if (open[index] && (polled[index].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                // POLLIN with data; POLLHUP alone only once a writer has come
                // and gone (see task_fifos.hpp): the stream ended.
                if (!relay_from(fds[index], streams[index])) {
                    open[index] = false;
                    end_stream(streams[index]);
                }
            }
        }
        if (draining_) {
            for (int index = 0; index < 2; ++index) {
                if (open[index]) {
                    relay_from(fds[index], streams[index]);
                    open[index] = false;
                    end_stream(streams[index]);
                }
            }
        }
    }
    {
        std::lock_guard lock(log_mutex_);
        log_.sync();
    }
    {
        std::lock_guard lock(subscribers_mutex_);
        for (const auto& subscriber : subscribers_)
            subscriber->close();
        std::lock_guard done(done_mutex_);
        done_ = true;
    }
    done_changed_.notify_all();
}

}  // namespace berth::oci::vm
