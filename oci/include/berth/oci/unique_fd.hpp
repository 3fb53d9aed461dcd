// An owned file descriptor, closed when it goes out of scope. One type for
// everything above stream/ (which depends on nothing): oci/ and daemon/ use
// it under this name; only berth-conmon, which links nothing, has its own.
#pragma once

#include "berth/stream/owned_fd.hpp"

namespace berth::oci {
using UniqueFd = stream::OwnedFd;
}  // namespace berth::oci
