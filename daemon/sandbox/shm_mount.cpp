#include "sandbox/shm_mount.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "sandbox/mountinfo.hpp"

namespace berth::daemon::sandbox {

void mount_shm(const std::string& path, std::uint64_t size) {
    std::filesystem::create_directories(path);
    const std::string options = "mode=1777,size=" + std::to_string(size);
    if (mount("shm", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()) !=
        0) {
        const int error = errno;
        rmdir(path.c_str());
        throw std::system_error(error, std::generic_category(), "mount tmpfs on " + path);
    }
}

bool is_mount_point(const std::string& path) {
    for (const auto& mount : read_mountinfo()) {
        if (mount.mount_point == path) {
            return true;
        }
    }
    return false;
}

void unmount_and_remove(const std::string& path) {
    if (path.empty()) {
        return;
    }
    while (is_mount_point(path)) {
        if (umount2(path.c_str(), MNT_DETACH) != 0) {
            throw std::system_error(errno, std::generic_category(), "umount " + path);
        }
    }
    if (rmdir(path.c_str()) != 0 && errno != ENOENT) {
        throw std::system_error(errno, std::generic_category(), "rmdir " + path);
    }
}

}  // namespace berth::daemon::sandbox
