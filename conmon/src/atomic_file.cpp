#include "atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "berth/conmon/unique_fd.hpp"

namespace berth::conmon {

namespace {

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t written = ::write(fd, data.data(), data.size());
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data.remove_prefix(static_cast<size_t>(written));
    }
    return true;
}

}  // namespace

bool write_file_atomically(const std::string& path, std::string_view content) {
    // A dot-prefixed temporary in the same directory: rename stays within one
    // file system, and watchers of the directory skip hidden names.
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    const std::string temp = dir + "." + base + ".tmp";
    {
        UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) {
            return false;
        }
        // No fsync: every file berth-conmon writes (pid files, the exit and
        // OOM files) lives under berthd's runroot, which is meant to be
        // volatile (/run): after a machine crash no container is left for
        // them to describe, and after a crash of berthd alone the page cache
        // still has them. It was two disk flushes on every container's path
        // (its pid file at create, its exit file before StopContainer ends).
        if (!write_all(fd.get(), content)) {
            ::unlink(temp.c_str());
            return false;
        }
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        ::unlink(temp.c_str());
        return false;
    }
    return true;
}

std::string read_small_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::string content;
    if (!fd) {
        return content;
    }
    char buffer[4096];
    for (;;) {
        const ssize_t count = ::read(fd.get(), buffer, sizeof buffer);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            break;
        }
        content.append(buffer, static_cast<size_t>(count));
    }
    return content;
}

}  // namespace berth::conmon
