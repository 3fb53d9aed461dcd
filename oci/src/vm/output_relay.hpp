// Relays a container's output from its shim's fifos into the CRI log (the
// same writer berth-conmon uses) and to attached clients, on one thread per
// container. berthd holds the only read ends: when berthd is down the shim's
// writes wait in the pipes (the shim keeps a read end of its own, so they
// never fail), and the relay of the restarted berthd picks them up.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "berth/conmon/cri_log.hpp"
#include "berth/oci/process_io.hpp"
#include "berth/stream/owned_fd.hpp"

namespace berth::oci::vm {

// What one attached client receives: every chunk from the moment it
// subscribed. A client that falls more than kMaxQueued bytes behind is cut
// off rather than slowing the log down.
class OutputSubscriber {
public:
    static constexpr std::size_t kMaxQueued = 4 << 20;

    // Blocks for the next chunk; nullopt once the output ended or close().
    std::optional<OutputChunk> next();
    void close();

private:
    friend class OutputRelay;
    void push(OutputStream stream, std::string_view data);

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<OutputChunk> queue_;
    std::size_t queued_bytes_ = 0;
    bool closed_ = false;
};

class OutputRelay {
public:
    // Takes the read ends (either may be invalid: no such stream). Opens the
    // log at once, beneath `log_directory` as berth-conmon does (no symbolic
    // link followed, only a regular file); throws RuntimeError(Internal)
    // when it cannot.
    OutputRelay(stream::OwnedFd stdout_fd, stream::OwnedFd stderr_fd,
                const std::string& log_directory, std::string log_path, std::uint64_t log_size_max);
    // Stops relaying at once (berthd shutting down or the container removed).
    ~OutputRelay();
    OutputRelay(const OutputRelay&) = delete;
    OutputRelay& operator=(const OutputRelay&) = delete;

    // The process has exited: returns once its output has ended and is in
    // the log, or after `grace` with whatever the pipes held by then (a shim
    // may keep a write end open after the exit).
    void finish(std::chrono::milliseconds grace);
    // Log rotation. Throws RuntimeError(FailedPrecondition) when the path
    // cannot be opened or is refused (the old file stays in use).
    void reopen_log();

    std::shared_ptr<OutputSubscriber> subscribe();
    void unsubscribe(const std::shared_ptr<OutputSubscriber>& subscriber);

private:
    void run();
    // Reads what `fd` holds now; false once the stream has ended.
    bool relay_from(int fd, OutputStream stream);
    void deliver(OutputStream stream, std::string_view data);
    void end_stream(OutputStream stream);

    stream::OwnedFd stdout_fd_;
    stream::OwnedFd stderr_fd_;
    stream::OwnedFd wake_;  // eventfd: finish() or the destructor wants attention

    std::mutex log_mutex_;  // the log is written by the relay thread, reopened by RPCs
    conmon::CriLog log_;

    std::mutex subscribers_mutex_;
    std::vector<std::shared_ptr<OutputSubscriber>> subscribers_;

    std::atomic<bool> draining_{false};  // drain what is there, then stop
    std::atomic<bool> stopping_{false};  // stop now
    std::mutex done_mutex_;
    std::condition_variable done_changed_;
    bool done_ = false;
    std::thread thread_;
};

}  // namespace berth::oci::vm
