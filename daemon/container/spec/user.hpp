// The user a container's process runs as, from the CRI security context or
// the image's User, with names looked up in the container's own /etc/passwd
// and /etc/group (never the host's: the numbers must mean what the image
// means by them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "berth/cri_api.hpp"

namespace berth::daemon::container {

struct ResolvedUser {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> additional_gids;  // primary gid first, no duplicates
    std::string home;                            // from /etc/passwd; empty when unknown
};

// `image_user` is the image config's User: "", "name", "uid", "name:group",
// "uid:gid", "uid:groupname". The security context's run_as_username /
// run_as_user replace it, run_as_group replaces the group. A uid without a
// group gets the gid of its passwd entry, or 0. Supplemental groups are the
// context's plus the /etc/group entries that list the user (unless the
// policy is Strict). Throws SpecError for an unknown user or group name, and
// for run_as_group without run_as_user or run_as_username.
ResolvedUser resolve_user(const std::string& rootfs, const std::string& image_user,
                          const runtime::v1::LinuxContainerSecurityContext& context);

}  // namespace berth::daemon::container
