// Notices OOM kills in the container's memory cgroup.
//   cgroup v1: an eventfd registered through cgroup.event_control for
//              memory.oom_control;
//   cgroup v2: inotify on memory.events.
// Either way the decision is the `oom_kill` counter going up, so an OOM
// notification without a kill (or the cgroup being removed) is not reported.
// systemd removes a scope as soon as it is empty, which can beat the monitor
// to the counter: the OOM is reported before the kill is counted, and the
// cgroup may be gone by the time the container's exit is seen. Then an OOM
// seen while the cgroup still existed decides, as the C conmon does:
//   cgroup v1: a signal read while the cgroup existed (or two signals read
//              at once: v1 signals its removal only once);
//   cgroup v2: memory.events' "oom" count gone up while it existed.
// Failing that (a monitor that read nothing in time), on v2 the parent's
// counter having gone up, with a notification, decides: v2 counts a kill in
// every ancestor too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "berth/conmon/unique_fd.hpp"

namespace berth::conmon {

class OomWatcher {
public:
    // Nullptr when the process has no memory cgroup we can watch.
    static std::unique_ptr<OomWatcher> for_process(pid_t pid);

    int fd() const { return fd_.get(); }
    // Consumes the notification; true when a new OOM kill happened since the
    // last time true was returned.
    bool check();

private:
    OomWatcher(UniqueFd fd, std::string counter_file, bool v1);
    // The count on the line "<key> <count>" of a counter file; nullopt when
    // the file is gone or has no such line.
    static std::optional<std::uint64_t> read_count(const std::string& counter_file,
                                                   std::string_view key);
    // Empties the notification fd; the number of signals (v1) or of reads
    // that returned inotify events (v2).
    std::uint64_t drain_notifications();

    UniqueFd fd_;
    std::string counter_file_;         // memory.oom_control (v1) or memory.events (v2)
    std::string parent_counter_file_;  // the same file of the parent cgroup
    bool v1_;
    std::uint64_t kills_seen_ = 0;
    std::uint64_t parent_kills_seen_ = 0;
    bool notified_ = false;
    std::uint64_t ooms_seen_ = 0;  // v2: memory.events' "oom"
    bool oom_event_ = false;       // an OOM seen, its kill not counted yet
};

}  // namespace berth::conmon
