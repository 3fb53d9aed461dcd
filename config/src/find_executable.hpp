#pragma once

#include <string>

namespace berth::config {

// Absolute path of an executable found in $PATH or the usual system
// directories (root's PATH does not always contain the sbin ones), or "".
std::string find_executable(const std::string& name);

}  // namespace berth::config
