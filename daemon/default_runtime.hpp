// The built-in default runtime handler is crun where it is installed; this
// checks at start that crun can run containers on this host and otherwise
// makes runc the default, saying why. A default_runtime set in a
// configuration file is never changed.
#pragma once

#include "berth/config/config.hpp"

namespace berth {

// The probe runs once per process (a few tens of milliseconds); a reload
// gets the same answer as the start.
void settle_default_runtime(config::Config& config);

}  // namespace berth
