#include "ttrpc/client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <berth/shim_api.hpp>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace berth::oci::ttrpc {

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int error) {
    return std::generic_category().message(error);
}

// Milliseconds left until `deadline` for poll(), rounded up so that poll does
// not return a hair early and spin; 0 when it has passed.
int poll_timeout(Clock::time_point deadline) {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) {
        return 0;
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return ms > 1'000'000 ? 1'000'000 : static_cast<int>(ms);
}

struct UnixAddress {
    sockaddr_un addr{};
    socklen_t length = 0;
};

// containerd hands out "unix:///run/containerd/s/<hash>"; older shims used
// abstract sockets, written with a leading '@'.
UnixAddress parse_address(const std::string& address) {
    std::string rest = address;
    constexpr std::string_view kScheme = "unix://";
    if (rest.compare(0, kScheme.size(), kScheme) == 0) {
        rest.erase(0, kScheme.size());
    }
    if (rest.empty() || rest == "@") {
        throw Error(Error::Kind::Closed, "cannot connect to shim at \"" + address +
                                             "\": the address has no socket path");
    }
    UnixAddress out;
    out.addr.sun_family = AF_UNIX;
    const bool abstract = rest.front() == '@';
    // An abstract name starts with a NUL byte instead of the '@' and is not
    // NUL-terminated; a path needs room for its terminating NUL.
    if (rest.size() + (abstract ? 0 : 1) > sizeof(out.addr.sun_path)) {
        throw Error(Error::Kind::Closed,
                    "cannot connect to shim at \"" + address + "\": the socket path is too long");
    }
    std::memcpy(out.addr.sun_path, rest.data(), rest.size());
    if (abstract) {
        out.addr.sun_path[0] = '\0';
    }
    out.length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + rest.size() + (abstract ? 0 : 1));
    return out;
}

}  // namespace

std::unique_ptr<Client> Client::connect(const std::string& address,
                                        std::chrono::milliseconds timeout) {
    const UnixAddress target = parse_address(address);
    const bool bounded = timeout.count() > 0;
    const auto deadline = Clock::now() + timeout;
    const auto timed_out = [&] {
        return Error(Error::Kind::Timeout, "connecting to shim at \"" + address +
                                               "\" took longer than " +
                                               std::to_string(timeout.count()) + " ms");
    };
    const auto refused = [&](int error) {
        return Error(Error::Kind::Closed,
                     "cannot connect to shim at \"" + address + "\": " + errno_text(error));
    };

    // Non-blocking so that a connect that hangs can be abandoned at the deadline.
    stream::OwnedFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket) {
        throw refused(errno);
    }
    for (;;) {
        if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&target.addr),
                      target.length) == 0) {
            break;
        }
        const int error = errno;
        if (error == EAGAIN) {
            // A unix socket whose listen backlog is full: poll() would not tell
            // when a slot frees up, so try again shortly.
            if (bounded && Clock::now() >= deadline) {
                throw timed_out();
            }
            ::poll(nullptr, 0, 10);
            continue;
        }
        if (error != EINPROGRESS && error != EINTR) {
            throw refused(error);
        }
        pollfd pfd{socket.get(), POLLOUT, 0};
        int ready = 0;
        do {
            ready = ::poll(&pfd, 1, bounded ? poll_timeout(deadline) : -1);
        } while (ready < 0 && errno == EINTR);
        if (ready < 0) {
            throw refused(errno);
        }
        if (ready == 0) {
            throw timed_out();
        }
        int so_error = 0;
        socklen_t so_length = sizeof(so_error);
        if (::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &so_error, &so_length) != 0) {
            throw refused(errno);
        }
        if (so_error != 0) {
            throw refused(so_error);
        }
        break;
    }
    const int flags = ::fcntl(socket.get(), F_GETFL);
    if (flags >= 0) {
        ::fcntl(socket.get(), F_SETFL, flags & ~O_NONBLOCK);
    }
    return std::make_unique<Client>(std::move(socket), address);
}

Client::Client(stream::OwnedFd socket, std::string peer_name)
    : socket_(std::move(socket)), peer_name_(std::move(peer_name)) {
    if (!socket_) {
        throw std::invalid_argument("ttrpc client for " + peer_name_ + " without a socket");
    }
    reader_ = std::thread([this] { read_loop(); });
}

Client::~Client() {
    close();
    if (reader_.joinable()) {
        reader_.join();
    }
}

bool Client::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

void Client::close() {
    end_connection(Error::Kind::Closed, "connection to shim " + peer_name_ + " closed by Berth");
}

void Client::end_connection(Error::Kind kind, const std::string& reason) {
    {
        std::lock_guard lock(mutex_);
        if (!closed_) {
            closed_ = true;
            close_reason_ = reason;
        }
        for (auto& [stream_id, pending] : pending_) {
            pending->error = Error(kind, reason);
            pending->done = true;
            pending->answered.notify_one();
        }
        pending_.clear();
    }
    // Wakes the reader (its recv returns 0) and makes a blocked send fail; the
    // descriptor itself stays open until the destructor so that its number is
    // not reused while another thread may still use it.
    ::shutdown(socket_.get(), SHUT_RDWR);
}

std::string Client::call(const std::string& service, const std::string& method,
                         const std::string& payload, std::chrono::milliseconds timeout) {
    const std::string what = service + "/" + method;
    const bool bounded = timeout.count() > 0;
    const auto start = Clock::now();
    const auto deadline = start + timeout;

    auto pending = std::make_shared<Pending>();
    std::uint32_t stream_id = 0;
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            throw Error(Error::Kind::Closed, "cannot call " + what + ": " + close_reason_);
        }
        // Odd ids, like every ttrpc client; after wrapping around, skip any
        // id a (very) long call still holds.
        do {
            stream_id = next_stream_id_;
            next_stream_id_ += 2;
        } while (pending_.count(stream_id) != 0);
        pending_.emplace(stream_id, pending);
    }
    const auto forget = [&] {
        std::lock_guard lock(mutex_);
        pending_.erase(stream_id);
    };

    try {
        const std::string frame =
            encode_request_frame(stream_id, service, method, payload, timeout);
        send_frame(frame, bounded ? deadline : start + kStalledSendLimit, what);
    } catch (...) {
        forget();
        throw;
    }

    std::unique_lock lock(mutex_);
    if (bounded) {
        if (!pending->answered.wait_until(lock, deadline, [&] { return pending->done; })) {
            pending_.erase(stream_id);
            throw Error(Error::Kind::Timeout, "shim " + peer_name_ + " did not answer " + what +
                                                  " within " + std::to_string(timeout.count()) +
                                                  " ms");
        }
    } else {
        pending->answered.wait(lock, [&] { return pending->done; });
    }
    lock.unlock();

    if (pending->error) {
        throw *pending->error;
    }
    ::ttrpc::Response response;
    if (!response.ParseFromString(pending->response)) {
        throw Error(Error::Kind::Protocol,
                    "shim " + peer_name_ + " sent an unparsable ttrpc response to " + what);
    }
    if (response.has_status() && response.status().code() != 0) {
        throw Error(Error::Kind::Status,
                    "shim " + peer_name_ + " failed " + what + ": " + response.status().message(),
                    response.status().code());
    }
    return std::move(*response.mutable_payload());
}

void Client::send_frame(const std::string& frame, Clock::time_point deadline,
                        const std::string& what) {
    const auto too_slow = [&] {
        return Error(Error::Kind::Timeout,
                     "could not send " + what + " to shim " + peer_name_ + " in time");
    };
    {
        std::unique_lock lock(mutex_);
        if (!write_done_.wait_until(lock, deadline, [&] { return !writing_; })) {
            throw too_slow();
        }
        writing_ = true;
    }
    struct WriteTurn {
        Client& client;
        ~WriteTurn() {
            std::lock_guard lock(client.mutex_);
            client.writing_ = false;
            client.write_done_.notify_one();
        }
    } turn{*this};
    std::size_t sent = 0;
    while (sent < frame.size()) {
        // MSG_DONTWAIT: the socket may be blocking, and the wait belongs in
        // poll() where the deadline applies. MSG_NOSIGNAL: a vanished peer is
        // EPIPE, not a SIGPIPE that would end berthd.
        const ssize_t n = ::send(socket_.get(), frame.data() + sent, frame.size() - sent,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        const int error = n < 0 ? errno : EPIPE;
        if (error == EINTR) {
            continue;
        }
        if (error == EAGAIN || error == EWOULDBLOCK) {
            pollfd pfd{socket_.get(), POLLOUT, 0};
            const int ready = ::poll(&pfd, 1, poll_timeout(deadline));
            if (ready == 0) {
                if (sent > 0) {
                    // Half a frame is on the wire: nothing can follow it.
                    end_connection(Error::Kind::Closed, "connection to shim " + peer_name_ +
                                                            " closed: a write stalled mid-frame");
                }
                throw too_slow();
            }
            continue;
        }
        const std::string reason =
            "connection to shim " + peer_name_ + " closed: cannot send: " + errno_text(error);
        end_connection(Error::Kind::Closed, reason);
        throw Error(Error::Kind::Closed, "cannot call " + what + ": " + reason);
    }
}

void Client::read_loop() {
    FrameDecoder decoder;
    std::vector<char> buffer(64 * 1024);
    for (;;) {
        // poll() first: the socket may have been handed over non-blocking.
        pollfd pfd{socket_.get(), POLLIN, 0};
        if (::poll(&pfd, 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            end_connection(Error::Kind::Closed,
                           "connection to shim " + peer_name_ + " failed: " + errno_text(errno));
            return;
        }
        const ssize_t n = ::recv(socket_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n < 0) {
            const int error = errno;
            if (error == EINTR || error == EAGAIN || error == EWOULDBLOCK) {
                continue;
            }
            end_connection(Error::Kind::Closed,
                           "connection to shim " + peer_name_ + " failed: " + errno_text(error));
            return;
        }
        if (n == 0) {
            end_connection(Error::Kind::Closed,
                           "connection to shim " + peer_name_ + " closed" +
                               (decoder.buffered() > 0 ? " in the middle of a frame" : ""));
            return;
        }
        decoder.feed(buffer.data(), static_cast<std::size_t>(n));
        try {
            while (auto frame = decoder.next()) {
                deliver(std::move(*frame));
            }
        } catch (const Error& e) {
            end_connection(Error::Kind::Protocol, "connection to shim " + peer_name_ +
                                                      " closed: protocol error: " + e.what());
            return;
        }
    }
}

void Client::deliver(Frame frame) {
    // Unary calls only expect responses. Data frames (streaming RPCs) and
    // responses for ids nobody waits for (a call that timed out) are dropped.
    if (frame.header.type != kTypeResponse) {
        return;
    }
    std::lock_guard lock(mutex_);
    const auto it = pending_.find(frame.header.stream_id);
    if (it == pending_.end()) {
        return;
    }
    it->second->response = std::move(frame.payload);
    it->second->done = true;
    it->second->answered.notify_one();
    pending_.erase(it);
}

}  // namespace berth::oci::ttrpc
