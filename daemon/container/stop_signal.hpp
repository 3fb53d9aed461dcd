// The signal that stops a container: the CRI's Signal enum, an image's
// STOPSIGNAL text and signal numbers, one to another.
#pragma once

#include <string>

#include "berth/cri_api.hpp"

namespace berth::daemon::container {

// The number of a CRI signal; 0 for RUNTIME_DEFAULT and -1 for a value the
// enum does not have (a newer client's, or garbage).
int signal_number(runtime::v1::Signal signal);

// The CRI enum value of a signal number; RUNTIME_DEFAULT for one it has no
// name for.
runtime::v1::Signal cri_signal(int number);

// A STOPSIGNAL as images write it ("SIGINT", "INT", "2", "SIGRTMIN+3") as a
// number; SIGTERM when empty or unknown (logged).
int stop_signal_number(const std::string& text);

// The signal a container is stopped with, as the record keeps it: the
// config's when it names one, else the image's STOPSIGNAL (which may be
// empty: SIGTERM). Throws StatusError INVALID_ARGUMENT for a config value
// outside the enum.
std::string stop_signal_in_force(runtime::v1::Signal configured, const std::string& image_signal);

}  // namespace berth::daemon::container
