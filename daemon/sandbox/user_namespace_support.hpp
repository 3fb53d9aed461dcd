// Whether pods may get their own user namespace here: the host must let
// berthd create user namespaces and idmap mounts of the storage's filesystem
// (probed once), and the pod's runtime must be able to join one.
#pragma once

#include <string>

#include "berth/oci/runtime_impl.hpp"

namespace berth::daemon::sandbox {

// "" when the host can, else why not. The probe runs on the first call; the
// answer is kept for the daemon's life.
const std::string& host_user_namespace_problem(const std::string& storage_root);

// "" when a pod of `runtime` (nullptr: an unusable handler) may use a user
// namespace, else why not.
std::string user_namespace_problem(oci::RuntimeImpl* runtime, const std::string& storage_root);

}  // namespace berth::daemon::sandbox
