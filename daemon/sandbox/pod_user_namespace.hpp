// A pod's own user namespace and the namespaces it owns: created by a
// short-lived child process (a multi-threaded daemon may not join a user
// namespace itself) and pinned under <runroot>/<kind>ns/<id> like the rest.
#pragma once

#include <string>

#include "sandbox/user_namespace_mapping.hpp"

namespace berth::daemon::sandbox {

// <runroot>/userns/<id>.
std::string pod_user_namespace_path(const std::string& runroot, const std::string& id);

struct PodNamespacePins {
    std::string user;
    std::string net;
    std::string ipc;
    std::string uts;
};

// Creates a user namespace with `mapping`, then new network (lo up), IPC and
// UTS (`hostname`) namespaces inside it, and pins each at its path in `pins`.
// On failure nothing stays pinned; throws std::system_error.
void pin_pod_namespaces_in_user_namespace(const UserNamespaceMapping& mapping,
                                          const PodNamespacePins& pins,
                                          const std::string& hostname);

// True when `path` pins a user namespace.
bool user_namespace_pinned(const std::string& path);

}  // namespace berth::daemon::sandbox
