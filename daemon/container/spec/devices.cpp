#include "container/spec/devices.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <system_error>

namespace berth::daemon::container {

namespace fs = std::filesystem;

nlohmann::json device_entry(const std::string& host_path, const std::string& container_path) {
    struct stat info {};
    if (stat(host_path.c_str(), &info) != 0 || (!S_ISCHR(info.st_mode) && !S_ISBLK(info.st_mode))) {
        return nullptr;
    }
    return {{"path", container_path},
            {"type", S_ISCHR(info.st_mode) ? "c" : "b"},
            {"major", major(info.st_rdev)},
            {"minor", minor(info.st_rdev)},
            {"fileMode", info.st_mode & 07777},
            {"uid", info.st_uid},
            {"gid", info.st_gid}};
}

nlohmann::json host_devices() {
    nlohmann::json devices = nlohmann::json::array();
    std::error_code error;
    fs::recursive_directory_iterator it("/dev", fs::directory_options::skip_permission_denied,
                                        error);
    for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
        const fs::path& path = it->path();
        const std::string name = path.filename().string();
        std::error_code ignored;
        const bool symlink = it->is_symlink(ignored);
        if (it->is_directory(ignored) && !symlink) {
            if (name == "pts" || name == "shm" || name == "mqueue" || name == "fd" ||
                name == ".lxc" || name == ".lxd-mounts" || name == ".udev") {
                it.disable_recursion_pending();
            }
            continue;
        }
        // Symlinks (/dev/stdin, /dev/disk/by-*) would duplicate real nodes.
        if (symlink || path == "/dev/console") {
            continue;
        }
        auto entry = device_entry(path.string(), path.string());
        if (!entry.is_null()) {
            devices.push_back(std::move(entry));
        }
    }
    return devices;
}

}  // namespace berth::daemon::container
