// Runs `RUNTIME create` for the container with the stdio berth-conmon will
// relay, and collects what the runtime hands back: the container pid and, for
// a terminal, the pty master.
#pragma once

#include <sys/types.h>

#include <string>

#include "berth/conmon/unique_fd.hpp"
#include "options.hpp"

namespace berth::conmon {

struct ContainerStdio {
    UniqueFd stdin_writer;   // pipe write end, pty master (dup), or invalid
    UniqueFd stdout_reader;  // pipe read end, or the pty master
    UniqueFd stderr_reader;  // pipe read end; invalid with a terminal
};

struct CreateResult {
    pid_t pid = -1;     // the container's init on success
    std::string error;  // the runtime's complaint on failure
    ContainerStdio stdio;
};

CreateResult create_container(const Options& options);

}  // namespace berth::conmon
