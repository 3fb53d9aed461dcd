// The pod's /dev/shm: a tmpfs shared by the pod's containers.
#pragma once

#include <cstdint>
#include <string>

namespace berth::daemon::sandbox {

inline constexpr std::uint64_t kDefaultShmSize = 64ull * 1024 * 1024;

// Creates `path` and mounts a tmpfs of `size` bytes there (nosuid, nodev,
// noexec, mode 1777). Throws std::system_error.
void mount_shm(const std::string& path, std::uint64_t size = kDefaultShmSize);

// Unmounts (lazily, so a container still using it cannot make this fail) and
// removes `path`; nothing happens when it is already gone.
void unmount_and_remove(const std::string& path);

bool is_mount_point(const std::string& path);

}  // namespace berth::daemon::sandbox
