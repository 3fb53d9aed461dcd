// berthd's life: set up, serve the CRI API until SIGTERM/SIGINT, reload on
// SIGHUP, shut down cleanly.
#pragma once

#include "berth/config/loader.hpp"

namespace berth::daemon {

// Loads the configuration, serves, and returns the process exit code. Errors
// before serving (bad config, busy socket) are reported on stderr/the log and
// give a non-zero code; nothing is left half-started.
int run_daemon(const config::LoadOptions& options);

}  // namespace berth::daemon
