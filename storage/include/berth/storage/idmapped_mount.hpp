// Idmapped bind mounts: a directory (or file) shown with the ids of a user
// namespace, so that what is owned by id N on disk is owned by N inside that
// namespace (and by the host id N maps to, seen from outside). Used for the
// image layers of a container in a pod with its own user namespace, and for
// the volumes such a container binds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace berth::storage {

// The ids a container's files are shown with: the user namespace pinned at
// `userns_path`, whose id 0 is host uid `root_uid` and gid `root_gid`.
struct IdMap {
    std::string userns_path;
    std::uint32_t root_uid = 0;
    std::uint32_t root_gid = 0;

    bool operator==(const IdMap&) const = default;
};

// Binds `source` at `target` (which must exist, a directory for a directory
// source) with `userns_path`'s ids; `recursive` takes submounts along.
// StorageError FailedPrecondition where the filesystem cannot be idmapped,
// Internal for other failures; nothing stays mounted then.
void mount_idmapped(const std::filesystem::path& source, const std::filesystem::path& target,
                    const std::string& userns_path, bool recursive);

// Detaches the mount at `target` if there is one. Throws StorageError
// Internal when it stays mounted.
void unmount_idmapped(const std::filesystem::path& target);

}  // namespace berth::storage
