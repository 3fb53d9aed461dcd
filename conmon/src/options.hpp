// The command line berthd passes to berth-conmon.
#pragma once

#include <cstdint>
#include <string>

namespace berth::conmon {

struct Options {
    std::string container_id;
    std::string runtime;
    std::string runtime_root;
    bool systemd_cgroup = false;
    std::string bundle;
    std::string container_pidfile;
    std::string conmon_pidfile;
    // The log is opened beneath log_dir without following symbolic links:
    // log_path (relative to it, or absolute below it) comes from a CRI
    // client.
    std::string log_dir;
    std::string log_path;
    std::uint64_t log_size_max = 0;  // 0: unlimited
    std::string exit_file;
    std::string oom_file;  // empty: not wanted
    std::string attach_socket;
    std::string ctl_fifo;
    bool stdin_open = false;
    bool stdin_once = false;
    bool terminal = false;
    int sync_fd = -1;
};

// Parses argv into `options`; false with the problem in `error`. Even then
// `options.sync_fd` is set if it was given, so the error can be reported.
bool parse_options(int argc, char** argv, Options& options, std::string& error);

}  // namespace berth::conmon
