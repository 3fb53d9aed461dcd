// The tar files of a checkpoint archive, written with libarchive: the
// archive itself (a directory tree, uncompressed, as CRI-O writes it) and
// the container's writable layer (rootfs-diff.tar plus deleted.files, the
// files the container removed from its image).
#pragma once

#include <filesystem>
#include <set>
#include <string>

namespace berth::daemon::container {

// Writes everything below `directory` into an uncompressed tar at `archive`,
// names relative to `directory`; mode 0600, since a checkpoint holds every
// memory page of the container. The archive appears whole or not at all
// (written beside it, then renamed). Regular files, directories and symbolic
// links are kept; sockets, fifos and devices are left out. Throws
// std::runtime_error naming the file and the reason.
void write_directory_archive(const std::filesystem::path& directory,
                             const std::filesystem::path& archive);

// The changes in an overlay upper directory: what was added or changed goes
// into the tar `diff` (names relative to the root, "etc/motd"), the paths
// that were deleted (overlay whiteouts, character devices 0:0) into
// `deleted_list` as a JSON array of absolute paths, written only when there
// are some. Paths listed in `excluded` ("/etc/hosts": absolute, as in the
// container) are left out with everything below them. Returns how many
// paths were deleted.
std::size_t write_rootfs_diff(const std::filesystem::path& upper,
                              const std::set<std::string>& excluded,
                              const std::filesystem::path& diff,
                              const std::filesystem::path& deleted_list);

}  // namespace berth::daemon::container
