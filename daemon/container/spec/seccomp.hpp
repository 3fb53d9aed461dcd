// The seccomp filter of a container (linux.seccomp in config.json).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/cri_api.hpp"

namespace berth::daemon::container {

// Berth's RuntimeDefault profile for a process with `capabilities`, in the
// OCI shape: everything not listed fails with EPERM; the allow list is
// Docker's and containerd's default list, and what needs a capability
// (unshare, mount, sethostname and setns with CAP_SYS_ADMIN, reboot with
// CAP_SYS_BOOT, modules with CAP_SYS_MODULE, ...) is allowed only to a
// process that has it, as in Docker's profile. keyctl, kexec and swapon are
// never allowed. Names libseccomp does not know on this machine are left out
// so that the runtime can load the filter.
nlohmann::json default_seccomp_profile(const std::vector<std::string>& capabilities);

// linux.seccomp for the security context, or null for none. A privileged
// container has none, whatever it names. Otherwise `seccomp` wins over the
// deprecated `seccomp_profile_path` ("runtime/default", "docker/default",
// "unconfined", "localhost/<path>"); with neither, the container runs
// unconfined (the CRI's contract: kubelet asks for RuntimeDefault when it
// wants it) unless `default_when_empty` (the configuration's
// seccomp_use_default_when_empty, as CRI-O's key). A Localhost profile is an
// absolute path to an OCI seccomp section or a Docker profile (archMap,
// "name", includes and excludes by capability and architecture);
// `capabilities` decide the capability-conditional rules of both. Throws
// SpecError naming the file when it is missing or not a profile.
nlohmann::json container_seccomp(const runtime::v1::LinuxContainerSecurityContext& context,
                                 bool privileged, const std::vector<std::string>& capabilities,
                                 bool default_when_empty);

}  // namespace berth::daemon::container
