#include "berth/storage/idmapped_mount.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "berth/storage/storage_error.hpp"

namespace berth::storage {

namespace {

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

std::string failure(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

bool mounted_at(const std::filesystem::path& target) {
    // A mount point differs from its parent in mount id.
    struct statx own {};
    struct statx parent {};
    if (::statx(AT_FDCWD, target.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &own) != 0)
        return false;
    if (own.stx_attributes & STATX_ATTR_MOUNT_ROOT)
        return true;
    const auto up = target.parent_path();
    return ::statx(AT_FDCWD, up.c_str(), 0, STATX_MNT_ID, &parent) == 0 &&
           own.stx_mnt_id != parent.stx_mnt_id;
}

}  // namespace

void mount_idmapped(const std::filesystem::path& source, const std::filesystem::path& target,
                    const std::string& userns_path, bool recursive) {
    const Fd userns(::open(userns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (userns.get() < 0) {
        throw StorageError(ErrorKind::Internal, failure("opening user namespace " + userns_path));
    }
    const unsigned recursion = recursive ? AT_RECURSIVE : 0;
    // A detached copy of the source: it is unmounted when the fd closes,
    // unless move_mount attached it.
    const Fd tree(
        ::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | recursion));
    if (tree.get() < 0) {
        throw StorageError(ErrorKind::Internal, failure("open_tree " + source.string()));
    }
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<std::uint64_t>(userns.get());
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | recursion, &attr, sizeof(attr)) != 0) {
        const bool unsupported = errno == EINVAL || errno == EPERM || errno == ENOSYS;
        throw StorageError(unsupported ? ErrorKind::FailedPrecondition : ErrorKind::Internal,
                           failure("the filesystem of " + source.string() +
                                   " cannot be idmapped for a user namespace"));
    }
    if (::move_mount(tree.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        throw StorageError(
            ErrorKind::Internal,
            failure("attaching the idmapped " + source.string() + " at " + target.string()));
    }
}

void unmount_idmapped(const std::filesystem::path& target) {
    while (mounted_at(target)) {
        if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
            if (errno == EINVAL || errno == ENOENT)
                break;
            throw StorageError(ErrorKind::Internal, failure("unmounting " + target.string()));
        }
    }
    if (mounted_at(target)) {
        throw StorageError(ErrorKind::Internal, "cannot unmount " + target.string());
    }
}

}  // namespace berth::storage
