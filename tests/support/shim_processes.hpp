// Finding the containerd shim v2 processes (containerd-shim-runc-v2 standing
// in for a VM runtime) that serve a pod, and the runc state they keep, by
// looking at the host's processes: what a test of the VM runtime path needs to
// check that a shim exists, to fault it (SIGKILL, SIGSTOP) and to check that
// nothing of a pod is left behind.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"

namespace berth::test {

inline constexpr const char* kShimBinary = "/usr/bin/containerd-shim-runc-v2";
// Where containerd-shim-runc-v2 keeps runc's state for namespace "berth".
inline constexpr const char* kShimRuncRoot = "/run/containerd/runc/berth";

// The NUL-separated arguments of a process; empty for zombies, kernel
// threads and processes that are gone.
inline std::vector<std::string> process_arguments(pid_t pid) {
    // read(2), not a stream: a process that exits mid-read makes it fail
    // with ESRCH, which libstdc++'s filebuf turns into an exception.
    std::string raw;
    const int fd =
        ::open(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buffer[4096];
        ssize_t got = 0;
        while ((got = ::read(fd, buffer, sizeof buffer)) > 0)
            raw.append(buffer, static_cast<std::size_t>(got));
        ::close(fd);
    }
    std::vector<std::string> arguments;
    std::string current;
    for (const char c : raw) {
        if (c == '\0') {
            arguments.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty())
        arguments.push_back(current);
    return arguments;
}

inline std::vector<pid_t> all_pids() {
    std::vector<pid_t> pids;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr)
        return pids;
    while (const dirent* entry = ::readdir(proc)) {
        char* end = nullptr;
        const long pid = std::strtol(entry->d_name, &end, 10);
        if (end != entry->d_name && *end == '\0' && pid > 0)
            pids.push_back(static_cast<pid_t>(pid));
    }
    ::closedir(proc);
    return pids;
}

// Shim processes whose argv has "containerd-shim-runc-v2" and "-id <id>".
// With `serving_only`, the short-lived `start` and `delete` invocations
// (same arguments plus that word) are left out: what remains is the process
// that serves the shim API.
inline std::vector<pid_t> shim_pids(const std::string& id, bool serving_only = false) {
    std::vector<pid_t> found;
    for (const pid_t pid : all_pids()) {
        const auto arguments = process_arguments(pid);
        bool is_shim = false;
        bool has_id = false;
        bool one_shot = false;
        for (std::size_t i = 0; i < arguments.size(); ++i) {
            if (arguments[i].find("containerd-shim-runc-v2") != std::string::npos)
                is_shim = true;
            if (arguments[i] == "-id" && i + 1 < arguments.size() && arguments[i + 1] == id)
                has_id = true;
            if (arguments[i] == "start" || arguments[i] == "delete")
                one_shot = true;
        }
        if (is_shim && has_id && !(serving_only && one_shot))
            found.push_back(pid);
    }
    return found;
}

// Processes any of whose arguments contains `marker` (a word a test put into
// a container's command line so that its processes can be found).
inline std::vector<pid_t> pids_with_argument(const std::string& marker) {
    std::vector<pid_t> found;
    for (const pid_t pid : all_pids()) {
        for (const auto& argument : process_arguments(pid)) {
            if (argument.find(marker) != std::string::npos) {
                found.push_back(pid);
                break;
            }
        }
    }
    return found;
}

// Polls until `condition` holds or `limit` passed; returns the last answer.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (condition())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(interval);
    }
}

// The serving shim of a pod, waiting up to `limit` for it; -1 if none.
inline pid_t wait_for_serving_shim(const std::string& id, std::chrono::milliseconds limit) {
    pid_t pid = -1;
    eventually(
        [&] {
            const auto pids = shim_pids(id, true);
            if (pids.empty())
                return false;
            pid = pids.front();
            return true;
        },
        limit);
    return pid;
}

// The argument after `flag` in a process's argv; "" if none.
inline std::string argument_after(const std::vector<std::string>& arguments,
                                  const std::string& flag) {
    for (std::size_t i = 0; i + 1 < arguments.size(); ++i) {
        if (arguments[i] == flag)
            return arguments[i + 1];
    }
    return "";
}

// The unix socket a running shim serves its API on, as containerd 1.6's
// shim.SocketAddress names it: /run/containerd/s/<hex sha256 of
// "<-address>/<-namespace>/<-id>">. "" when `pid` is no shim.
inline std::string shim_socket(pid_t pid) {
    const auto arguments = process_arguments(pid);
    const std::string address = argument_after(arguments, "-address");
    const std::string name_space = argument_after(arguments, "-namespace");
    const std::string id = argument_after(arguments, "-id");
    if (address.empty() || name_space.empty() || id.empty())
        return "";
    std::string joined = address;
    while (joined.size() > 1 && joined.back() == '/')
        joined.pop_back();
    joined += "/" + name_space + "/" + id;
    const auto digest = run_command("printf '%s' '" + joined + "' | sha256sum");
    if (digest.exit_code != 0 || digest.output.size() < 64)
        return "";
    return "/run/containerd/s/" + digest.output.substr(0, 64);
}

// The ids `runc --root kShimRuncRoot list` shows (empty without that root).
inline std::string shim_runc_list() {
    return run_command(std::string("[ -d ") + kShimRuncRoot + " ] && runc --root " + kShimRuncRoot +
                       " list -q")
        .output;
}

// Safety net after a failed test: resumes and kills the shims of `ids`, and
// makes runc forget those containers, so that nothing outlives the test.
inline void kill_leftover_shims(const std::vector<std::string>& pod_ids,
                                const std::vector<std::string>& container_ids) {
    for (const auto& id : pod_ids) {
        for (const pid_t pid : shim_pids(id)) {
            const std::string socket = shim_socket(pid);
            ::kill(pid, SIGCONT);
            ::kill(pid, SIGKILL);
            if (!socket.empty())
                ::unlink(socket.c_str());
        }
    }
    const std::string listed = shim_runc_list();
    std::vector<std::string> all = pod_ids;
    all.insert(all.end(), container_ids.begin(), container_ids.end());
    for (const auto& id : all) {
        if (!id.empty() && listed.find(id) != std::string::npos) {
            run_command(std::string("runc --root ") + kShimRuncRoot + " delete -f " + id +
                        " >/dev/null 2>&1");
        }
    }
}

}  // namespace berth::test
