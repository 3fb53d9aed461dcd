#include "attach_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "berth/oci/runtime_error.hpp"

namespace berth::oci {
namespace {

// The monitor reads stdin packets of up to 32 KiB and sends output packets
// of at most its 8 KiB read buffer plus the stream byte; room for more costs
// nothing and a bigger packet is never cut.
constexpr std::size_t kInputPacketMax = 32 * 1024;
constexpr std::size_t kOutputPacketMax = 64 * 1024;

constexpr unsigned char kStdoutByte = 2;
constexpr unsigned char kStderrByte = 3;

// Socket paths below a deep run root may exceed sun_path's 108 bytes: the
// connection goes through /proc/self/fd/<dir>/<name> instead.
UniqueFd connect_seqpacket(const std::string& path) {
    UniqueFd directory(
        ::open(std::filesystem::path(path).parent_path().c_str(), O_PATH | O_CLOEXEC));
    if (!directory) {
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "the container's monitor is gone (" + path + ")");
    }
    const std::string short_path = "/proc/self/fd/" + std::to_string(directory.get()) + "/" +
                                   std::filesystem::path(path).filename().string();
    UniqueFd socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!socket) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           std::string("attach socket: ") + std::strerror(errno));
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, short_path.c_str(), sizeof(address.sun_path) - 1);
    if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "cannot attach: the container's monitor does not answer on " + path +
                               ": " + std::strerror(errno));
    }
    ::fcntl(socket.get(), F_SETFL, ::fcntl(socket.get(), F_GETFL) | O_NONBLOCK);
    return socket;
}

}  // namespace

AttachSession::AttachSession(const MonitorPaths& paths, const AttachOptions& options)
    : options_(options),
      control_fifo_(paths.control_fifo),
      socket_(connect_seqpacket(paths.attach_socket)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!wake_) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           std::string("eventfd for attach: ") + std::strerror(errno));
    }
}

std::optional<OutputChunk> AttachSession::read_output() {
    std::vector<char> buffer(kOutputPacketMax);
    for (;;) {
        pollfd fds[2] = {{socket_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
        const int ready = ::poll(fds, 2, -1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0 || (fds[1].revents & POLLIN))
            return std::nullopt;
        const ssize_t got = ::recv(socket_.get(), buffer.data(), buffer.size(), 0);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (got <= 0)
            return std::nullopt;  // the monitor closed: the container ended or dropped us
        const auto stream = static_cast<unsigned char>(buffer[0]);
        if (got == 1 || (stream != kStdoutByte && stream != kStderrByte))
            continue;
        return OutputChunk{stream == kStdoutByte ? OutputStream::Stdout : OutputStream::Stderr,
                           std::string(buffer.data() + 1, static_cast<std::size_t>(got - 1))};
    }
}

bool AttachSession::write_input(std::string_view data) {
    std::lock_guard lock(input_mutex_);
    if (!options_.stdin || input_closed_)
        return false;
    while (!data.empty()) {
        const std::size_t size = std::min(data.size(), kInputPacketMax);
        const ssize_t sent = ::send(socket_.get(), data.data(), size, MSG_NOSIGNAL);
        if (sent > 0) {
            data.remove_prefix(static_cast<std::size_t>(sent));
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && errno == EAGAIN) {
            // The monitor stops reading while the container's stdin is full.
            pollfd fds[2] = {{socket_.get(), POLLOUT, 0}, {wake_.get(), POLLIN, 0}};
            if (::poll(fds, 2, -1) > 0 && !(fds[1].revents & POLLIN))
                continue;
        }
        return false;
    }
    return true;
}

void AttachSession::close_input() {
    std::lock_guard lock(input_mutex_);
    if (input_closed_)
        return;
    input_closed_ = true;
    // Only a stdin_once container loses its stdin with this client; others
    // keep it open for the next attach, as CRI-O does.
    if (options_.stdin_once)
        ::shutdown(socket_.get(), SHUT_WR);
}

void AttachSession::resize(std::uint16_t width, std::uint16_t height) {
    if (!options_.tty)
        return;
    UniqueFd fifo(::open(control_fifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo)
        return;  // the monitor is gone: nothing to resize
    const std::string line = "1 " + std::to_string(height) + " " + std::to_string(width) + "\n";
    (void)!::write(fifo.get(), line.data(), line.size());
}

void AttachSession::cancel() {
    const std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
}

}  // namespace berth::oci
