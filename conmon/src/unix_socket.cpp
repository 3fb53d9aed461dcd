#include "unix_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace berth::conmon {

UniqueFd listen_unix(const std::string& path, int type, unsigned mode) {
    UniqueFd sock(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!sock) {
        return {};
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string bind_path = path;
    UniqueFd dir;
    if (bind_path.size() >= sizeof address.sun_path) {
        const auto slash = path.rfind('/');
        if (slash == std::string::npos) {
            errno = ENAMETOOLONG;
            return {};
        }
        dir.reset(::open(path.substr(0, slash + 1).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir) {
            return {};
        }
        bind_path = "/proc/self/fd/" + std::to_string(dir.get()) + path.substr(slash);
        if (bind_path.size() >= sizeof address.sun_path) {
            errno = ENAMETOOLONG;
            return {};
        }
    }
    std::memcpy(address.sun_path, bind_path.c_str(), bind_path.size() + 1);
    ::unlink(path.c_str());  // a stale socket from an earlier monitor
    if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::chmod(path.c_str(), mode) != 0 || ::listen(sock.get(), 16) != 0) {
        return {};
    }
    return sock;
}

UniqueFd receive_fd(int socket_fd) {
    char data[256];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t count = 0;
    do {
        count = ::recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
    } while (count < 0 && errno == EINTR);
    if (count < 0) {
        return {};
    }
    for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
         header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS &&
            header->cmsg_len == CMSG_LEN(sizeof(int))) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
            return UniqueFd(fd);
        }
    }
    errno = EBADMSG;
    return {};
}

}  // namespace berth::conmon
