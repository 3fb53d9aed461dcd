// Learns that a container's monitor process (berth-conmon) has died, from a
// pidfd per monitor in one epoll on a thread of its own: a monitor killed
// under a running container would otherwise leave it RUNNING for ever, as
// nobody is left to write its exit file.
//
// A monitor that ends normally writes the exit file first, so the exits
// directory keeps precedence: `on_died` runs at once (waking a stop that
// waits for an exit file), `on_settle` only `grace` later, when an exit file
// would long have appeared.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "unique_fd.hpp"

namespace berth::daemon::container {

class MonitorWatcher {
public:
    using Callback = std::function<void(const std::string& container_id)>;
    // Returns false when the container is busy (another operation holds
    // it): asked again after another grace.
    using Settle = std::function<bool(const std::string& container_id)>;

    MonitorWatcher(std::chrono::milliseconds grace, Callback on_died, Settle on_settle);
    ~MonitorWatcher();
    MonitorWatcher(const MonitorWatcher&) = delete;
    MonitorWatcher& operator=(const MonitorWatcher&) = delete;

    // Watches the monitor behind `pidfd` for `container_id` (replacing any
    // earlier one for it).
    void watch(const std::string& container_id, UniqueFd pidfd);
    // The container is gone: its monitor no longer matters.
    void forget(const std::string& container_id);
    // Whether the container's watched monitor has exited (and has not been
    // settled yet).
    bool exited(const std::string& container_id) const;
    std::size_t watched() const;

private:
    struct Entry {
        UniqueFd pidfd;
        std::uint64_t key = 0;
        bool exited = false;
    };
    struct Pending {
        std::string id;
        std::uint64_t key = 0;
        std::chrono::steady_clock::time_point due;
    };

    void run();
    void mark_exited(std::uint64_t key);
    // Runs the settle callback of every pending monitor that is due.
    void settle_due();
    int next_timeout() const;

    std::chrono::milliseconds grace_;
    Callback on_died_;
    Settle on_settle_;
    UniqueFd epoll_;
    UniqueFd stop_;  // an eventfd that ends the thread

    mutable std::mutex mutex_;  // guards what follows
    std::map<std::string, Entry> entries_;
    std::map<std::uint64_t, std::string> ids_;  // epoll keys: fd numbers are reused
    std::uint64_t next_key_ = 1;
    std::vector<Pending> pending_;  // touched by the thread only

    std::thread thread_;
};

}  // namespace berth::daemon::container
