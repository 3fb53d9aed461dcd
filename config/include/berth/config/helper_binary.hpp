// Where Berth's own helper programs (berth-conmon, berth-unpack,
// berth-pod-init) are found: beside the running executable (the build tree,
// or /usr/bin next to /usr/libexec), then <exe dir>/../libexec/berth, the
// usual libexec directories, and finally $PATH and the system directories.
#pragma once

#include <string>

namespace berth::config {

// Throws std::runtime_error naming every place searched when none has it.
std::string find_helper_binary(const std::string& name);

}  // namespace berth::config
