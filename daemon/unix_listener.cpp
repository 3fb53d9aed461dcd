#include "unix_listener.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace berth::daemon {

namespace {

constexpr mode_t kSocketMode = 0660;
constexpr int kBacklog = 128;

sockaddr_un socket_address(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) {
        throw ListenError(path + ": socket path longer than " +
                          std::to_string(sizeof(address.sun_path) - 1) + " bytes");
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

std::string errno_text(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

// A socket file left by a daemon that died is removed; one that still accepts
// connections belongs to a running daemon and must not be stolen.
void remove_stale_socket(const std::string& path) {
    struct stat info {};
    if (lstat(path.c_str(), &info) != 0) {
        if (errno == ENOENT) {
            return;
        }
        throw ListenError(errno_text(path));
    }
    if (!S_ISSOCK(info.st_mode)) {
        throw ListenError(path + ": exists and is not a socket; refusing to replace it");
    }
    UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe) {
        throw ListenError(errno_text("socket"));
    }
    sockaddr_un address = socket_address(path);
    if (connect(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
        throw ListenError(path + ": another daemon is already listening on this socket");
    }
    if (errno != ECONNREFUSED && errno != ENOENT) {
        throw ListenError(errno_text("probing " + path));
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        throw ListenError(errno_text("removing stale socket " + path));
    }
}

}  // namespace

UnixListener::UnixListener(UniqueFd fd, std::string path, bool owns_path)
    : fd_(std::move(fd)), path_(std::move(path)), owns_path_(owns_path) {}

UnixListener::~UnixListener() {
    close();
}

void UnixListener::close() {
    if (!fd_) {
        return;
    }
    fd_.reset();
    if (owns_path_) {
        unlink(path_.c_str());
    }
}

UnixListener UnixListener::create(const std::string& path) {
    sockaddr_un address = socket_address(path);
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
    if (error) {
        throw ListenError(path + ": cannot create parent directory: " + error.message());
    }
    remove_stale_socket(path);

    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        throw ListenError(errno_text("socket"));
    }
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        throw ListenError(errno_text("bind " + path));
    }
    UnixListener listener(std::move(fd), path, true);
    // Nobody can connect before listen(), so fixing the mode here leaves no
    // window in which the umask's mode applies.
    if (chmod(path.c_str(), kSocketMode) != 0) {
        throw ListenError(errno_text("chmod " + path));
    }
    if (listen(listener.fd(), kBacklog) != 0) {
        throw ListenError(errno_text("listen " + path));
    }
    return listener;
}

std::optional<UnixListener> UnixListener::from_socket_activation() {
    int count = sd_listen_fds(1);
    if (count < 0) {
        throw ListenError(std::string("socket activation: ") + std::strerror(-count));
    }
    if (count == 0) {
        return std::nullopt;
    }
    if (count > 1) {
        throw ListenError("socket activation: expected one socket, systemd passed " +
                          std::to_string(count));
    }
    int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0) {
        throw ListenError("socket activation: the passed fd is not a listening unix stream socket");
    }
    sockaddr_un address{};
    socklen_t length = sizeof(address);
    std::string path = "(activated)";
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
        address.sun_path[0] != '\0') {
        path = address.sun_path;
    }
    return UnixListener(UniqueFd(fd), path, false);
}

}  // namespace berth::daemon
