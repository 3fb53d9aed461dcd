// The stdio of one process a shim runs: named pipes that the shim writes
// (stdout, stderr) and reads (stdin), as containerd hands them to shims.
//
// Our read ends are opened O_RDONLY|O_NONBLOCK before the shim opens its
// write ends. Linux then reports POLLHUP only after a writer came and went,
// so poll() tells "the shim has not opened it yet" (nothing) from "the
// stream ended" (POLLHUP). The stdin end is opened O_RDWR: the open never
// blocks and the shim never sees end of file because berthd let go; a
// client's end of input reaches the process through CloseIO instead.
#pragma once

#include <string>

#include "berth/stream/owned_fd.hpp"

namespace berth::oci::vm {

struct TaskFifos {
    // Paths as the shim gets them; "" for a stream the process does not have.
    std::string stdin_path;
    std::string stdout_path;
    std::string stderr_path;
    stream::OwnedFd stdin_fd;
    stream::OwnedFd stdout_fd;
    stream::OwnedFd stderr_fd;

    // Removes the fifos from the file system (the open ends stay usable).
    void unlink() const;
};

// Creates (or, after a restart, reuses) `<prefix>stdin` etc. and opens
// berthd's ends. Throws RuntimeError(Internal) naming the path.
TaskFifos open_task_fifos(const std::string& prefix, bool stdin, bool stdout, bool stderr);

}  // namespace berth::oci::vm
