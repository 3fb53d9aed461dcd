// The seccomp filter of a container (linux.seccomp in config.json).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/cri_api.hpp"

namespace berth::daemon::container {

// Berth's RuntimeDefault profile, in the OCI shape: everything not listed
// fails with EPERM; the allow list is Docker's and containerd's default list
// minus what needs CAP_SYS_ADMIN-like power (unshare, mount, setns, keyctl,
// bpf, reboot, kexec, swapon, modules, ...). Names libseccomp does not know
// on this machine are left out so that the runtime can load the filter.
nlohmann::json default_seccomp_profile();

// linux.seccomp for the security context, or null for none. `seccomp` wins
// over the deprecated `seccomp_profile_path` ("runtime/default",
// "docker/default", "unconfined", "localhost/<path>"); with neither,
// RuntimeDefault applies unless the container is privileged (CRI-O's
// seccomp_use_default_when_empty). A Localhost profile is an absolute path to
// an OCI seccomp section or a Docker profile (archMap, "name", includes and
// excludes by capability and architecture); `capabilities` decide Docker's
// capability-conditional rules. Throws SpecError naming the file when it is
// missing or not a profile.
nlohmann::json container_seccomp(const runtime::v1::LinuxContainerSecurityContext& context,
                                 bool privileged, const std::vector<std::string>& capabilities);

}  // namespace berth::daemon::container
