// An owned file descriptor: the daemon uses oci's (one definition for both).
#pragma once

#include "berth/oci/unique_fd.hpp"

namespace berth::daemon {
using oci::UniqueFd;
}  // namespace berth::daemon
