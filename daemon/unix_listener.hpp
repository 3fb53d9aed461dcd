// The listening unix socket of the CRI API: made by berthd (parents created,
// mode 0660, a stale socket replaced, a live one refused) or handed over by
// systemd socket activation.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "unique_fd.hpp"

namespace berth::daemon {

class ListenError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class UnixListener {
public:
    // Creates and listens on `path`. Throws ListenError with the reason.
    static UnixListener create(const std::string& path);

    // The socket systemd passed (LISTEN_FDS), if any. Throws ListenError when
    // systemd passed something that is not one listening unix stream socket.
    static std::optional<UnixListener> from_socket_activation();

    UnixListener(UnixListener&&) noexcept = default;
    UnixListener& operator=(UnixListener&&) noexcept = default;
    ~UnixListener();

    int fd() const { return fd_.get(); }
    const std::string& path() const { return path_; }
    bool activated() const { return !owns_path_; }

    // Stops listening; the socket file we created is removed so that clients
    // get a clear "no such file" rather than a hang.
    void close();

private:
    UnixListener(UniqueFd fd, std::string path, bool owns_path);

    UniqueFd fd_;
    std::string path_;
    bool owns_path_ = false;
};

}  // namespace berth::daemon
