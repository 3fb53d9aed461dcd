// The monitor proper: creates the container through the runtime, reports its
// pid to berthd, then relays its stdio until it exits and records the exit.
#pragma once

#include "options.hpp"

namespace berth::conmon {

// Returns the monitor's own exit code: 0 once the exit file is written, 1 if
// the container could not be created (berthd was told why).
int run_monitor(const Options& options);

}  // namespace berth::conmon
