#include "berth/conmon/log_file_open.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

namespace berth::conmon {

namespace {

// Set once a kernel said it has no openat2: later opens skip the attempt.
std::atomic<bool> openat2_missing{false};

// glibc 2.36 has no wrapper for openat2. -1 with errno on failure.
int openat2_beneath(int directory_fd, const char* name, int flags, mode_t mode) {
    open_how how{};
    how.flags = static_cast<unsigned long long>(flags);
    how.mode = (flags & O_CREAT) != 0 ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    for (int attempt = 0;; ++attempt) {
        const long fd = ::syscall(SYS_openat2, directory_fd, name, &how, sizeof how);
        // EAGAIN: a rename or mount raced with the lookup; it is safe to retry.
        if (fd >= 0 || errno != EAGAIN || attempt == 8) {
            return static_cast<int>(fd);
        }
    }
}

// Opens the single component `name` in `directory_fd`, never through a
// symbolic link.
int open_component(int directory_fd, const std::string& name, int flags, mode_t mode,
                   PathResolution resolution) {
    flags |= O_NOFOLLOW | O_CLOEXEC;
    if (resolution == PathResolution::kAutomatic && !openat2_missing.load()) {
        const int fd = openat2_beneath(directory_fd, name.c_str(), flags, mode);
        // EPERM: a seccomp filter that predates openat2 (older container
        // engines' defaults) may say so instead of ENOSYS; it may also be
        // the file's own answer (an immutable file), which the open below
        // then gives again. Either way the fallback is just as safe.
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
            return fd;
        }
        if (errno == ENOSYS) {
            openat2_missing = true;
        }
    }
    // One component with O_NOFOLLOW cannot leave the directory: a symbolic
    // link fails with ELOOP, ".." never gets here.
    return ::openat(directory_fd, name.c_str(), flags, mode);
}

std::string describe(const std::string& path, int error_number) {
    switch (error_number) {
    case ELOOP:
        return path + " is a symbolic link, which a log path is never followed through";
    case ENOTDIR:
        return path + " is not a directory";
    case ENXIO:  // a fifo without a reader, opened O_NONBLOCK
        return path + " is not a regular file";
    default:
        return path + ": " + std::strerror(error_number);
    }
}

UniqueFd fail(std::string& error, std::string message, int error_number) {
    error = std::move(message);
    errno = error_number;
    return {};
}

// The components of `relative` ("a//b/./c.log" is a, b, c.log); false when
// one is "..".
bool split_components(std::string_view relative, std::vector<std::string>& components) {
    while (!relative.empty()) {
        const auto slash = relative.find('/');
        const std::string_view part = relative.substr(0, slash);
        relative.remove_prefix(slash == std::string_view::npos ? relative.size() : slash + 1);
        if (part == "..") {
            return false;
        }
        if (!part.empty() && part != ".") {
            components.emplace_back(part);
        }
    }
    return true;
}

}  // namespace

UniqueFd open_log_beneath(const std::string& directory, const std::string& path, std::string& error,
                          PathResolution resolution) {
    std::string root = directory;
    while (root.size() > 1 && root.back() == '/') {
        root.pop_back();
    }
    if (root.empty()) {
        return fail(error, "no log directory given", EINVAL);
    }
    std::string_view relative = path;
    if (!relative.empty() && relative.front() == '/') {
        const std::string prefix = root == "/" ? root : root + "/";
        if (relative.substr(0, prefix.size()) != prefix) {
            return fail(error, path + " is not inside the log directory " + root, EXDEV);
        }
        relative.remove_prefix(prefix.size());
    }
    std::vector<std::string> components;
    if (!split_components(relative, components)) {
        return fail(error, path + " climbs out of the log directory " + root + " with \"..\"",
                    EXDEV);
    }
    const std::string_view last = relative.substr(relative.rfind('/') + 1);
    if (components.empty() || last.empty() || last == ".") {
        return fail(error, path + " does not name a file beneath " + root, EINVAL);
    }

    UniqueFd current(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!current) {
        const int saved = errno;
        return fail(error, "log directory " + describe(root, saved), saved);
    }
    std::string walked = root == "/" ? "" : root;
    for (std::size_t index = 0; index + 1 < components.size(); ++index) {
        const std::string& name = components[index];
        walked += "/" + name;
        int fd = open_component(current.get(), name, O_RDONLY | O_DIRECTORY, 0, resolution);
        if (fd < 0 && errno == ENOENT) {
            // mkdirat never follows a link either: a dangling one is EEXIST,
            // and the open below refuses it.
            if (::mkdirat(current.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
                const int saved = errno;
                return fail(error, "creating " + walked + ": " + std::strerror(saved), saved);
            }
            fd = open_component(current.get(), name, O_RDONLY | O_DIRECTORY, 0, resolution);
        }
        if (fd < 0) {
            int saved = errno;
            // O_DIRECTORY is checked before O_NOFOLLOW: a link to a directory
            // fails as "not a directory", which would hide why.
            struct stat info {};
            if (saved == ENOTDIR &&
                ::fstatat(current.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(info.st_mode)) {
                saved = ELOOP;
            }
            return fail(error, describe(walked, saved), saved);
        }
        current.reset(fd);
    }

    const std::string& name = components.back();
    walked += "/" + name;
    // Looked at before opening, so that a device node planted there is not
    // even opened (opening some devices does something); checked again
    // after opening, which is what counts.
    struct stat info {};
    if (::fstatat(current.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(info.st_mode)) {
            return fail(error, describe(walked, ELOOP), ELOOP);
        }
        if (!S_ISREG(info.st_mode)) {
            return fail(error, walked + " is not a regular file", EINVAL);
        }
    }
    // O_NONBLOCK: a fifo that appeared meanwhile cannot block the open.
    UniqueFd file(open_component(current.get(), name,
                                 O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_NOCTTY, 0640,
                                 resolution));
    if (!file) {
        const int saved = errno;
        return fail(error, describe(walked, saved), saved);
    }
    if (::fstat(file.get(), &info) != 0) {
        const int saved = errno;
        return fail(error, describe(walked, saved), saved);
    }
    if (!S_ISREG(info.st_mode)) {
        return fail(error, walked + " is not a regular file", EINVAL);
    }
    if (info.st_nlink > 1) {
        // Another name for the same file may be outside the directory.
        return fail(error, walked + " has other hard links", EINVAL);
    }
    const int flags = ::fcntl(file.get(), F_GETFL);
    if (flags < 0 || ::fcntl(file.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
        const int saved = errno;
        return fail(error, describe(walked, saved), saved);
    }
    return file;
}

}  // namespace berth::conmon
