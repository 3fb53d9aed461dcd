// Sysctl checks for a pod's config; applying them needs the pinned
// namespaces (sandbox_namespaces.cpp).
#include "sandbox/sandbox_namespaces.hpp"
#include "sandbox/sysctls.hpp"
#include "status_error.hpp"

namespace berth::daemon::sandbox {

namespace v1 = runtime::v1;

void validate_sysctls(const v1::PodSandboxConfig& config) {
    const auto& options = config.linux().security_context().namespace_options();
    const bool host_network = options.network() == v1::NODE;
    const bool host_ipc = options.ipc() == v1::NODE;
    for (const auto& [name, value] : config.linux().sysctls()) {
        switch (classify_sysctl(name)) {
        case SysctlNamespace::Net:
        case SysctlNamespace::Uts:
            if (host_network) {
                throw invalid_argument("sysctl \"" + name +
                                       "\" cannot be set for a pod on the host's network");
            }
            break;
        case SysctlNamespace::Ipc:
            if (host_ipc) {
                throw invalid_argument("sysctl \"" + name +
                                       "\" cannot be set for a pod that uses the host's IPC");
            }
            break;
        }
    }
}

}  // namespace berth::daemon::sandbox
