#include "stats/disk_usage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <memory>
#include <set>
#include <utility>
#include <vector>

namespace berth::daemon::stats {

std::optional<DiskUsage> directory_usage(const std::string& directory) {
    struct stat top {};
    if (::lstat(directory.c_str(), &top) != 0 || !S_ISDIR(top.st_mode)) {
        return std::nullopt;
    }
    DiskUsage usage;
    usage.inodes = 1;
    usage.bytes = static_cast<std::uint64_t>(top.st_blocks) * 512;
    std::set<std::pair<dev_t, ino_t>> linked;  // files with several links, counted once
    // Iterative, one directory open at a time: a deep tree in a container's
    // layer cannot exhaust the daemon's fds or its stack.
    std::vector<std::string> pending{directory};
    while (!pending.empty()) {
        const std::string current = std::move(pending.back());
        pending.pop_back();
        const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(current.c_str()), ::closedir);
        if (!dir) {
            continue;
        }
        const int dir_fd = ::dirfd(dir.get());
        while (const dirent* entry = ::readdir(dir.get())) {
            const std::string name = entry->d_name;
            if (name == "." || name == "..") {
                continue;
            }
            struct stat info {};
            if (::fstatat(dir_fd, entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0) {
                continue;
            }
            if (info.st_nlink > 1 && !S_ISDIR(info.st_mode) &&
                !linked.emplace(info.st_dev, info.st_ino).second) {
                continue;
            }
            ++usage.inodes;
            usage.bytes += static_cast<std::uint64_t>(info.st_blocks) * 512;
            if (S_ISDIR(info.st_mode) && info.st_dev == top.st_dev) {
                pending.push_back(current + "/" + name);
            }
        }
    }
    return usage;
}

}  // namespace berth::daemon::stats
