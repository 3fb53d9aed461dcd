#include "oom_watcher.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "atomic_file.hpp"

namespace berth::conmon {

namespace {

struct CgroupMount {
    std::string mount_point;
    std::string root;  // the part of the hierarchy visible at the mount point
};

// From /proc/self/mountinfo: the v1 hierarchy carrying the memory controller,
// or (when `v2`) the unified hierarchy.
std::optional<CgroupMount> find_cgroup_mount(bool v2) {
    const std::string mountinfo = read_small_file("/proc/self/mountinfo");
    std::string_view rest = mountinfo;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        const auto separator = line.find(" - ");
        if (separator == std::string_view::npos) {
            continue;
        }
        const std::string_view tail = line.substr(separator + 3);  // fstype source options
        const std::string_view fstype = tail.substr(0, tail.find(' '));
        if (fstype != (v2 ? "cgroup2" : "cgroup")) {
            continue;
        }
        if (!v2) {
            const std::string_view options = tail.substr(tail.rfind(' ') + 1);
            bool has_memory = false;
            std::string_view remaining = options;
            while (!remaining.empty()) {
                const auto comma = remaining.find(',');
                if (remaining.substr(0, comma) == "memory") {
                    has_memory = true;
                }
                remaining.remove_prefix(comma == std::string_view::npos ? remaining.size()
                                                                        : comma + 1);
            }
            if (!has_memory) {
                continue;
            }
        }
        // "id parent major:minor root mount_point ..."
        std::string_view fields = line.substr(0, separator);
        std::string_view parts[5];
        for (auto& part : parts) {
            const auto space = fields.find(' ');
            part = fields.substr(0, space);
            fields.remove_prefix(space == std::string_view::npos ? fields.size() : space + 1);
        }
        return CgroupMount{std::string(parts[4]), std::string(parts[3])};
    }
    return std::nullopt;
}

// The process's path in the memory hierarchy (v1) or the unified one (v2).
std::optional<std::string> process_cgroup(pid_t pid, bool v2) {
    const std::string content = read_small_file("/proc/" + std::to_string(pid) + "/cgroup");
    std::string_view rest = content;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        if (first == std::string_view::npos || second == std::string_view::npos) {
            continue;
        }
        const std::string_view controllers = line.substr(first + 1, second - first - 1);
        const bool matches = v2 ? (line.substr(0, first) == "0" && controllers.empty())
                                : (controllers == "memory" ||
                                   controllers.find("memory,") != std::string_view::npos ||
                                   controllers.ends_with(",memory"));
        if (matches) {
            return std::string(line.substr(second + 1));
        }
    }
    return std::nullopt;
}

std::optional<std::string> cgroup_directory(pid_t pid, bool v2) {
    const auto mount = find_cgroup_mount(v2);
    const auto path = process_cgroup(pid, v2);
    if (!mount || !path) {
        return std::nullopt;
    }
    std::string relative = *path;
    if (mount->root != "/" && relative.starts_with(mount->root)) {
        relative.erase(0, mount->root.size());
    }
    return mount->mount_point + relative;
}

}  // namespace

OomWatcher::OomWatcher(UniqueFd fd, std::string counter_file, bool v1)
    : fd_(std::move(fd)), counter_file_(std::move(counter_file)), v1_(v1) {
    kills_seen_ = read_count(counter_file_, "oom_kill").value_or(0);
    if (!v1_) {
        ooms_seen_ = read_count(counter_file_, "oom").value_or(0);
    }
    const auto file = counter_file_.rfind('/');
    const auto dir =
        file == std::string::npos ? std::string::npos : counter_file_.rfind('/', file - 1);
    if (dir != std::string::npos && dir > 0) {
        parent_counter_file_ = counter_file_.substr(0, dir) + counter_file_.substr(file);
        parent_kills_seen_ = read_count(parent_counter_file_, "oom_kill").value_or(0);
    }
}

std::unique_ptr<OomWatcher> OomWatcher::for_process(pid_t pid) {
    // v1 first: on a hybrid host the memory controller lives there, and the
    // unified hierarchy has no memory.events.
    if (const auto dir = cgroup_directory(pid, false)) {
        const std::string oom_control = *dir + "/memory.oom_control";
        UniqueFd control(::open(oom_control.c_str(), O_RDONLY | O_CLOEXEC));
        UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (control && event) {
            const std::string registration =
                std::to_string(event.get()) + " " + std::to_string(control.get());
            const std::string event_control = *dir + "/cgroup.event_control";
            UniqueFd writer(::open(event_control.c_str(), O_WRONLY | O_CLOEXEC));
            // The kernel keeps its own reference to memory.oom_control once
            // registered, so `control` may be closed afterwards.
            if (writer && ::write(writer.get(), registration.data(), registration.size()) ==
                              static_cast<ssize_t>(registration.size())) {
                return std::unique_ptr<OomWatcher>(
                    new OomWatcher(std::move(event), oom_control, true));
            }
        }
    }
    if (const auto dir = cgroup_directory(pid, true)) {
        const std::string events = *dir + "/memory.events";
        UniqueFd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (watch && ::access(events.c_str(), R_OK) == 0 &&
            ::inotify_add_watch(watch.get(), events.c_str(), IN_MODIFY) >= 0) {
            return std::unique_ptr<OomWatcher>(new OomWatcher(std::move(watch), events, false));
        }
    }
    return nullptr;
}

std::optional<std::uint64_t> OomWatcher::read_count(const std::string& counter_file,
                                                    std::string_view key) {
    const std::string content = read_small_file(counter_file);
    if (content.empty()) {
        return std::nullopt;  // the cgroup is gone
    }
    std::string_view rest = content;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
            return std::strtoull(std::string(line.substr(key.size() + 1)).c_str(), nullptr, 10);
        }
    }
    return std::nullopt;
}

std::uint64_t OomWatcher::drain_notifications() {
    std::uint64_t count = 0;
    if (v1_) {
        // An eventfd: each read returns (and resets) the number of signals.
        std::uint64_t value = 0;
        while (::read(fd_.get(), &value, sizeof value) == sizeof value) {
            count += value;
        }
        return count;
    }
    char buffer[4096];
    while (::read(fd_.get(), buffer, sizeof buffer) > 0) {
        ++count;
    }
    return count;
}

bool OomWatcher::check() {
    const std::uint64_t notifications = drain_notifications();
    // Looked at after the read: a cgroup still there means that none of the
    // signals just read was v1's signal for its removal, which only comes
    // after the rmdir. So they were OOM events, reported while the kill may
    // not have been counted yet.
    const bool cgroup_exists = ::access(counter_file_.c_str(), F_OK) == 0;
    if (v1_ && notifications > 0 && (cgroup_exists || notifications >= 2)) {
        oom_event_ = true;
    }
    notified_ = notified_ || notifications > 0;
    const auto kills = read_count(counter_file_, "oom_kill");
    if (kills) {
        if (*kills > kills_seen_) {
            kills_seen_ = *kills;
            oom_event_ = false;
            return true;
        }
        // v2 counts the OOM itself ("oom") before the kill that follows.
        if (!v1_) {
            const auto ooms = read_count(counter_file_, "oom");
            if (ooms && *ooms > ooms_seen_) {
                ooms_seen_ = *ooms;
                oom_event_ = true;
            }
        }
        return false;
    }
    if (cgroup_exists) {
        // Kernels before 4.13 have no v1 counter: an OOM event while the
        // cgroup still exists is the best we know.
        return v1_ && notifications > 0;
    }
    // The cgroup is gone before its kill could be read: the OOM seen while
    // it existed decides.
    if (oom_event_) {
        oom_event_ = false;
        return true;
    }
    // Else, on v2, the parent's counter, which counts the kill as well (v1
    // counts it in the cgroup itself only).
    if (v1_) {
        return false;
    }
    const auto parent_kills = read_count(parent_counter_file_, "oom_kill");
    if (notified_ && parent_kills && *parent_kills > parent_kills_seen_) {
        parent_kills_seen_ = *parent_kills;
        return true;
    }
    return false;
}

}  // namespace berth::conmon
