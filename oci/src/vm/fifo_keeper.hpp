// Keeps a container's output fifos alive while berthd is away. A shim closes
// its ends of the fifos when the container's output ends; if nobody else has
// a fifo open at that moment, the kernel frees the pipe and whatever berthd
// had not read yet (the last lines of a container that exited while berthd
// was restarting). So a tiny process that outlives berthd holds read ends
// of its own and never reads: the bytes wait in the pipe for the next
// berthd. It is berth-pod-init, which does nothing but wait for SIGTERM.
#pragma once

#include <sys/types.h>

#include <string>

namespace berth::oci::vm {

// Starts the keeper for the fifos `stdout_path` and `stderr_path` ("" for
// none) of task `id`. Returns its pid; throws RuntimeError(Internal).
pid_t start_fifo_keeper(const std::string& binary, const std::string& id,
                        const std::string& stdout_path, const std::string& stderr_path);

// Ends the keeper of task `id` (a pid now owned by another process is left
// alone) and reaps it when it is berthd's child.
void stop_fifo_keeper(pid_t pid, const std::string& id);

}  // namespace berth::oci::vm
