#include "metrics/metrics_endpoint.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "metrics/exposition.hpp"
#include "unique_fd.hpp"

namespace berth::daemon::metrics {

namespace {

void log_from_microhttpd(void*, const char* format, va_list arguments) {
    char message[512];
    std::vsnprintf(message, sizeof(message), format, arguments);
    std::string text = message;
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    spdlog::warn("metrics endpoint: {}", text);
}

MHD_Result reply(MHD_Connection* connection, unsigned int status, const std::string& body,
                 const char* content_type) {
    MHD_Response* response = MHD_create_response_from_buffer(
        body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    const MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued;
}

MHD_Result handle(void* self, MHD_Connection* connection, const char* url, const char* method,
                  const char*, const char*, size_t* upload_data_size, void** request_state) {
    // The first call brings only the headers; the answer goes with the
    // second, once any body (which nobody should send) has been read.
    static int headers_seen;
    if (*request_state == nullptr) {
        *request_state = &headers_seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;  // ignored
        return MHD_YES;
    }
    const std::string verb = method;
    if (verb != MHD_HTTP_METHOD_GET && verb != MHD_HTTP_METHOD_HEAD)
        return reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", "text/plain");
    if (std::strcmp(url, "/metrics") != 0)
        return reply(connection, MHD_HTTP_NOT_FOUND, "not found: metrics are at /metrics\n",
                     "text/plain");
    std::string body;
    try {
        body = static_cast<const MetricsEndpoint*>(self)->render();
    } catch (const std::exception& error) {
        spdlog::error("metrics endpoint: {}", error.what());
        return reply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                     std::string("collecting metrics failed: ") + error.what() + "\n",
                     "text/plain");
    }
    return reply(connection, MHD_HTTP_OK, body, kContentType);
}

std::string describe(const sockaddr* address) {
    char host[INET6_ADDRSTRLEN] = "?";
    std::uint16_t port = 0;
    if (address->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        port = ntohs(v6->sin6_port);
        return "[" + std::string(host) + "]:" + std::to_string(port);
    }
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
    return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

MetricsEndpoint::MetricsEndpoint(const std::string& address, std::int64_t port,
                                 std::function<std::string()> render)
    : render_(std::move(render)) {
    const std::string wanted = address + ":" + std::to_string(port);
    if (port < 0 || port > 65535)
        throw std::runtime_error("metrics endpoint " + wanted + ": port out of range");
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int lookup = ::getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (lookup != 0) {
        throw std::runtime_error("cannot serve metrics on " + wanted + ": " +
                                 ::gai_strerror(lookup));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> results(found, ::freeaddrinfo);

    UniqueFd listener(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener)
        throw std::runtime_error("cannot serve metrics on " + wanted + ": " + std::strerror(errno));
    // Lets a restarted berthd bind while old connections linger in
    // TIME_WAIT; a port with a live listener is still refused.
    const int on = 1;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (::bind(listener.get(), found->ai_addr, found->ai_addrlen) != 0 ||
        ::listen(listener.get(), 64) != 0) {
        throw std::runtime_error("cannot serve metrics on " + wanted + ": " + std::strerror(errno));
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof(bound);
    ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    endpoint_ = describe(reinterpret_cast<const sockaddr*>(&bound));
    port_ = static_cast<std::uint16_t>(
        bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                    : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port));

    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (found->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    // The logger first: libmicrohttpd complains about options before it.
    // clang-format off
    daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &handle, this,
                               MHD_OPTION_EXTERNAL_LOGGER, &log_from_microhttpd, nullptr,
                               MHD_OPTION_LISTEN_SOCKET, listener.get(),
                               MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                               MHD_OPTION_CONNECTION_LIMIT, 32u,
                               MHD_OPTION_END);
    // clang-format on
    if (daemon_ == nullptr) {
        throw std::runtime_error("cannot serve metrics on " + endpoint_ +
                                 ": libmicrohttpd did not start");
    }
    listener.release();  // libmicrohttpd closes it when it stops
}

MetricsEndpoint::~MetricsEndpoint() {
    if (daemon_ != nullptr)
        MHD_stop_daemon(daemon_);
}

}  // namespace berth::daemon::metrics
