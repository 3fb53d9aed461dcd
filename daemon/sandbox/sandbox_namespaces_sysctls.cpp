// Sysctl checks for a pod's config; applying them needs the pinned
// namespaces (sandbox_namespaces.cpp).
#include <algorithm>

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
        // The value is written to /proc/sys as it is: one line of text (a
        // tab may separate numbers, as kernel.sem's do).
        constexpr std::size_t kLongestValue = 4096;
        const bool one_line = std::none_of(value.begin(), value.end(), [](const char c) {
            const auto byte = static_cast<unsigned char>(c);
            return (byte < 0x20 && c != '\t') || byte == 0x7f;
        });
        if (!one_line || value.size() > kLongestValue) {
            throw invalid_argument("config.linux.sysctls[" + quoted_value(name) + "] value " +
                                   quoted_value(value) +
                                   " is not one line of at most 4096 bytes of text");
        }
        switch (classify_sysctl(name)) {
        case SysctlNamespace::Net:
        case SysctlNamespace::Uts:
            if (host_network) {
                throw invalid_argument("sysctl " + quoted_value(name) +
                                       " cannot be set for a pod on the host's network");
            }
            break;
        case SysctlNamespace::Ipc:
            if (host_ipc) {
                throw invalid_argument("sysctl " + quoted_value(name) +
                                       " cannot be set for a pod that uses the host's IPC");
            }
            break;
        }
    }
}

}  // namespace berth::daemon::sandbox
