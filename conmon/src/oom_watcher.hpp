// Notices OOM kills in the container's memory cgroup.
//   cgroup v1: an eventfd registered through cgroup.event_control for
//              memory.oom_control;
//   cgroup v2: inotify on memory.events.
// Either way the decision is the `oom_kill` counter going up, so an OOM
// notification without a kill (or the cgroup being removed) is not reported.
// systemd removes a scope as soon as it is empty, which can beat the monitor
// to the counter: v1 signals the OOM before the kill is counted, and the
// cgroup may be gone by the time the container's exit is seen. Then
//   cgroup v1: an OOM event signalled while the cgroup still existed (or two
//              signals read at once: v1 signals its removal only once)
//              decides, as the C conmon does;
//   cgroup v2: the kernel counts the kill in every ancestor too, so the
//              parent's counter having gone up, with a notification, decides.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

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
    static std::optional<std::uint64_t> read_kill_count(const std::string& counter_file);
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
    bool v1_oom_event_ = false;  // an OOM signalled, its kill not counted yet
};

}  // namespace berth::conmon
