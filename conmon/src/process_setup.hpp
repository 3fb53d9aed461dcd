// Turning the process berthd started into the long-lived monitor.
#pragma once

#include <string>

#include "options.hpp"

namespace berth::conmon {

// Marks every inherited fd above stderr close-on-exec, so that nothing berthd
// leaked to us (the sync pipe included) reaches the runtime or the container.
void mark_inherited_fds_cloexec();

// Forks; the parent exits 0 at once (berthd reaps it) and the child returns:
// a session leader and child subreaper (the container's init, a child of the
// runtime, is reparented to us) with stdio on /dev/null, terminal signals
// ignored, and its pid written to --conmon-pidfile. False with `error` set if
// the child could not get there.
bool become_monitor(const Options& options, std::string& error);

}  // namespace berth::conmon
