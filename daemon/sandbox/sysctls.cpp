#include "sandbox/sysctls.hpp"

#include <algorithm>
#include <array>

#include "status_error.hpp"

namespace berth::daemon::sandbox {

namespace {

bool starts_with(const std::string& text, const char* prefix) {
    return text.rfind(prefix, 0) == 0;
}

std::string normalised(const std::string& name) {
    std::string result = name;
    std::replace(result.begin(), result.end(), '/', '.');
    return result;
}

}  // namespace

SysctlNamespace classify_sysctl(const std::string& raw_name) {
    const std::string name = normalised(raw_name);
    if (name.empty() || name.find("..") != std::string::npos || name.front() == '.' ||
        name.back() == '.' ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") != std::string::npos) {
        throw invalid_argument("sysctl " + quoted_value(raw_name) + " is not a valid sysctl name");
    }
    // The namespaced sysctls, as the kernel (and Kubernetes' validation)
    // knows them.
    static constexpr std::array kIpcExact = {
        "kernel.shmmax", "kernel.shmall", "kernel.shmmni", "kernel.shm_rmid_forced",
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem"};
    if (std::find(kIpcExact.begin(), kIpcExact.end(), name) != kIpcExact.end() ||
        starts_with(name, "fs.mqueue.")) {
        return SysctlNamespace::Ipc;
    }
    if (name == "kernel.hostname" || name == "kernel.domainname") {
        return SysctlNamespace::Uts;
    }
    if (starts_with(name, "net.")) {
        return SysctlNamespace::Net;
    }
    throw invalid_argument("sysctl " + quoted_value(raw_name) +
                           " is not namespaced: it would change the whole node");
}

std::string sysctl_path(const std::string& name) {
    std::string path = normalised(name);
    std::replace(path.begin(), path.end(), '.', '/');
    return "/proc/sys/" + path;
}

}  // namespace berth::daemon::sandbox
