// Paths inside a container's root filesystem, resolved the way the container
// will see them. An image is untrusted: its /etc/passwd may be a symlink to
// "/../../host/etc/shadow", and following that from the host would read (or
// create) files outside the rootfs. Every symlink is therefore resolved by
// hand with the rootfs as "/", as chroot would.
#pragma once

#include <string>

namespace berth::daemon::container {

// The host path of `path` (absolute or relative, taken from the rootfs' "/")
// inside `rootfs`. Symlinks in any component, absolute or relative, stay
// inside the rootfs, and ".." stops at its root. Components that do not exist
// are kept as they are. Throws SpecError after too many symlinks (a loop).
std::string resolve_in_rootfs(const std::string& rootfs, const std::string& path);

}  // namespace berth::daemon::container
