// The process spec of a command run by Exec or ExecSync: the container's own
// process (user, env, cwd, capabilities, seccomp, ...) with other arguments,
// written to a private file beside the monitor's files for `runtime exec
// --process`, with the file the runtime writes the command's pid to. Both
// files are removed with this object.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::oci {

// The container's process spec (from `bundle`/config.json) running `command`.
// Throws RuntimeError(Internal) when the spec cannot be read.
nlohmann::json exec_process_json(const std::string& bundle, const std::vector<std::string>& command,
                                 bool terminal);

class ExecProcessSpec {
public:
    // `bundle` holds the container's config.json; the files go to `directory`.
    // Throws RuntimeError(Internal) when the spec cannot be read or written.
    ExecProcessSpec(const std::string& bundle, const std::string& directory,
                    const std::vector<std::string>& command, bool terminal);
    ~ExecProcessSpec();
    ExecProcessSpec(const ExecProcessSpec&) = delete;
    ExecProcessSpec& operator=(const ExecProcessSpec&) = delete;

    const std::string& spec_path() const { return spec_path_; }
    const std::string& pid_path() const { return pid_path_; }
    // The command's pid once the runtime has written it, else 0.
    pid_t command_pid() const;

private:
    std::string spec_path_;
    std::string pid_path_;
};

}  // namespace berth::oci
