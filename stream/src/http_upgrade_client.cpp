#include "berth/stream/http_upgrade_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "berth/stream/tls_relay.hpp"

namespace berth::stream {

namespace {

using Clock = std::chrono::steady_clock;

int poll_timeout(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0)
        return 0;
    return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

std::chrono::milliseconds time_left(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds(1);
}

std::string errno_text() {
    return std::strerror(errno);
}

void set_blocking(int fd, bool blocking) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) {
        fcntl(fd, F_SETFL, blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK));
    }
}

// Waits for `events` on `fd` until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd pfd{fd, events, 0};
        const int ready = ::poll(&pfd, 1, poll_timeout(deadline));
        if (ready > 0)
            return true;
        if (ready == 0)
            return false;
        if (errno != EINTR) {
            throw HttpUpgradeError("poll failed: " + errno_text());
        }
    }
}

// Tries one resolved address; returns the connected socket or an error text.
OwnedFd connect_one(const addrinfo& address, Clock::time_point deadline, std::string& error) {
    OwnedFd fd(::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        address.ai_protocol));
    if (!fd) {
        error = "socket: " + errno_text();
        return {};
    }
    if (::connect(fd.get(), address.ai_addr, address.ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            error = errno_text();
            return {};
        }
        if (!wait_for(fd.get(), POLLOUT, deadline)) {
            error = "timed out";
            return {};
        }
        int socket_error = 0;
        socklen_t length = sizeof(socket_error);
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &socket_error, &length) != 0) {
            socket_error = errno;
        }
        if (socket_error != 0) {
            error = std::strerror(socket_error);
            return {};
        }
    }
    // Streams carry keystrokes and small frames: send them at once.
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

OwnedFd connect_tcp(const HttpUrl& url, Clock::time_point deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(url.port);
    const int status = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
    if (status != 0) {
        throw HttpUpgradeError("cannot resolve " + url.host + ": " + ::gai_strerror(status));
    }
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
    std::string error = "no address";
    for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
        OwnedFd fd = connect_one(*address, deadline, error);
        if (fd)
            return fd;
    }
    throw HttpUpgradeError("cannot connect to " + url.authority() + ": " + error);
}

void send_all(int fd, std::string_view bytes, Clock::time_point deadline) {
    while (!bytes.empty()) {
        const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(sent));
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_for(fd, POLLOUT, deadline)) {
                throw HttpUpgradeError("timed out sending the request");
            }
        } else if (errno != EINTR) {
            throw HttpUpgradeError("cannot send the request: " + errno_text());
        }
    }
}

bool has_line_break(std::string_view text) {
    return text.find_first_of("\r\n") != std::string_view::npos;
}

std::string request_head(const HttpUpgradeRequest& request, const HttpUrl& url) {
    if (request.method.empty() || request.method.find_first_of(" \t\r\n") != std::string::npos) {
        throw HttpUpgradeError("invalid HTTP method \"" + request.method + "\"");
    }
    std::string head = request.method + " " + url.target + " HTTP/1.1\r\n";
    bool has_host = false;
    for (const auto& [name, value] : request.headers) {
        // A line break would let a value smuggle in header fields of its own.
        if (name.empty() || name.find_first_of(" \t:") != std::string::npos ||
            has_line_break(name) || has_line_break(value)) {
            throw HttpUpgradeError("invalid request header field \"" + name + "\"");
        }
        if (name.size() == 4 && strncasecmp(name.c_str(), "host", 4) == 0)
            has_host = true;
    }
    if (!has_host) {
        head += "Host: " + url.authority() + "\r\n";
    }
    for (const auto& [name, value] : request.headers) {
        head += name + ": " + value + "\r\n";
    }
    head += "\r\n";
    return head;
}

// Reads until the head is complete; what follows it stays in `buffer`.
std::size_t read_head(int fd, std::string& buffer, std::size_t max_size,
                      Clock::time_point deadline) {
    std::array<char, 4096> chunk;
    for (;;) {
        const std::size_t end = find_http_head_end(buffer);
        if (end != 0)
            return end;
        if (buffer.size() > max_size) {
            throw HttpUpgradeError("HTTP response head larger than " + std::to_string(max_size) +
                                   " bytes");
        }
        const ssize_t got = ::recv(fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
        if (got > 0) {
            buffer.append(chunk.data(), static_cast<std::size_t>(got));
        } else if (got == 0) {
            throw HttpUpgradeError("connection closed before the end of the response head (" +
                                   std::to_string(buffer.size()) + " bytes received)");
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_for(fd, POLLIN, deadline)) {
                throw HttpUpgradeError("timed out waiting for the response head");
            }
        } else if (errno != EINTR) {
            throw HttpUpgradeError("cannot read the response: " + errno_text());
        }
    }
}

}  // namespace

HttpUpgradeResponse http_upgrade(const HttpUpgradeRequest& request) {
    const auto deadline = Clock::now() + request.timeout;
    const HttpUrl url = parse_http_url(request.url);
    const std::string head = request_head(request, url);

    HttpUpgradeResponse response;
    OwnedFd tcp = connect_tcp(url, deadline);
    if (url.tls) {
        try {
            const SslCtxPtr ctx = make_client_ssl_ctx(request.tls);
            TlsClientConnection tls =
                tls_connect(std::move(tcp), ctx.get(), url.host, time_left(deadline));
            response.tls_relay = std::move(tls.relay);
            response.fd = std::move(tls.plain);
        } catch (const TlsError& error) {
            throw HttpUpgradeError(url.authority() + ": " + error.what());
        }
    } else {
        response.fd = std::move(tcp);
    }

    send_all(response.fd.get(), head, deadline);
    std::string buffer;
    const std::size_t head_size =
        read_head(response.fd.get(), buffer, request.max_head_size, deadline);
    HttpResponseHead parsed = parse_http_response_head(
        std::string_view(buffer).substr(0, head_size), request.max_head_size);
    response.status = parsed.status;
    response.reason = std::move(parsed.reason);
    response.headers = std::move(parsed.headers);
    response.leftover = buffer.substr(head_size);
    set_blocking(response.fd.get(), true);
    return response;
}

}  // namespace berth::stream
