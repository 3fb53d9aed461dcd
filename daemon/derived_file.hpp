// Files berthd derives from a durable record (a pod's resolv.conf, hostname
// and hosts, a container's OCI config.json): written whole-or-not-at-all, but
// not fsynced. They matter only while the pod or container can run, and
// nothing can run after a machine crash; after a crash of berthd alone the
// page cache still holds them. Their fsyncs cost a file and a directory
// flush each (about 8 ms on the development machine's disk) on the path of
// RunPodSandbox and CreateContainer (docs/benchmarks.md).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

namespace berth::daemon {

// Writes `content` to a temporary file beside `path` and renames it over
// `path`. Throws std::system_error naming the step that failed; the
// temporary file is removed on failure.
inline void write_derived_file(const std::string& path, const std::string& content,
                               int mode = 0600) {
    const std::filesystem::path target(path);
    const std::string temporary =
        (target.parent_path() / ("." + target.filename().string() + ".tmp")).string();
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "create " + temporary);
    std::size_t written = 0;
    while (written < content.size()) {
        const ssize_t count = ::write(fd, content.data() + written, content.size() - written);
        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0) {
            const int error = errno;
            ::close(fd);
            ::unlink(temporary.c_str());
            throw std::system_error(error, std::generic_category(), "write " + temporary);
        }
        written += static_cast<std::size_t>(count);
    }
    if (::close(fd) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw std::system_error(error, std::generic_category(),
                                "write " + temporary + " and rename it to " + path);
    }
}

}  // namespace berth::daemon
