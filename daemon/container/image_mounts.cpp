#include "container/image_mounts.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "request_paths.hpp"
#include "status_error.hpp"
#include "unique_fd.hpp"

namespace berth::daemon::container {

namespace v1 = runtime::v1;

namespace {

// The path the kernel has for an open file (links and ".." resolved).
std::string fd_path(int fd, const std::string& field) {
    char target[4096];
    const auto length =
        ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target, sizeof target - 1);
    if (length <= 0)
        throw StatusError(grpc::StatusCode::INTERNAL,
                          "resolving " + field + ": " + std::strerror(errno));
    return std::string(target, static_cast<std::size_t>(length));
}

}  // namespace

std::vector<ImageMountRequest> image_mount_requests(const v1::ContainerConfig& config) {
    std::vector<ImageMountRequest> requests;
    for (int index = 0; index < config.mounts_size(); ++index) {
        const auto& mount = config.mounts(index);
        const std::string field = "config.mounts[" + std::to_string(index) + "]";
        if (mount.image().image().empty()) {
            if (!mount.image_sub_path().empty())
                throw invalid_argument(field + ".image_sub_path needs image.image");
            continue;
        }
        if (!mount.host_path().empty()) {
            throw invalid_argument(field + " names both host_path " +
                                   quoted_value(mount.host_path()) + " and image " +
                                   quoted_value(mount.image().image()) + ": one or the other");
        }
        std::string sub_path = mount.image_sub_path();
        while (!sub_path.empty() && sub_path.back() == '/')
            sub_path.pop_back();
        if (sub_path == ".")
            sub_path.clear();
        if (!sub_path.empty())
            request_paths::require_relative_path(field + ".image_sub_path", sub_path);
        requests.push_back({index, mount.image().image(), sub_path});
    }
    return requests;
}

std::string resolve_image_sub_path(const std::string& mounted, const std::string& sub_path,
                                   const std::string& field) {
    if (sub_path.empty())
        return mounted;
    const UniqueFd root(::open(mounted.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root)
        throw StatusError(grpc::StatusCode::INTERNAL,
                          "opening " + mounted + ": " + std::strerror(errno));
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    long fd = -1;
    for (int attempt = 0; attempt < 8; ++attempt) {
        fd = ::syscall(SYS_openat2, root.get(), sub_path.c_str(), &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    if (fd < 0) {
        throw invalid_argument(field + " " + quoted_value(sub_path) +
                               " is not in the image: " + std::strerror(errno));
    }
    const UniqueFd found(static_cast<int>(fd));
    // The image is mounted read-only and nothing else writes there, so the
    // path of what was found stays what was found.
    const std::string root_path = fd_path(root.get(), field);
    const std::string path = fd_path(found.get(), field);
    if (path.rfind(root_path + "/", 0) != 0) {
        // RESOLVE_IN_ROOT keeps every lookup beneath the root; this is a
        // second guard against a bug, not a case expected to happen.
        throw invalid_argument(field + " " + quoted_value(sub_path) + " leads out of the image");
    }
    return path;
}

}  // namespace berth::daemon::container
