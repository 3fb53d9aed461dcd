// Unix socket helpers: listening at a path of any length, and receiving an fd
// passed with SCM_RIGHTS.
#pragma once

#include <string>

#include "berth/conmon/unique_fd.hpp"

namespace berth::conmon {

// A listening socket (SOCK_STREAM or SOCK_SEQPACKET) bound at `path` with
// `mode`. Paths longer than sun_path are reached through /proc/self/fd of
// their directory, as conmon does, so deep kubelet directories still work.
UniqueFd listen_unix(const std::string& path, int type, unsigned mode);

// Receives one fd sent with SCM_RIGHTS on a connected socket; invalid on error.
UniqueFd receive_fd(int socket_fd);

}  // namespace berth::conmon
