#include "streaming/streaming_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdarg>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "berth/stream/protocols.hpp"
#include "berth/stream/websocket_handshake.hpp"
#include "status_error.hpp"
#include "streaming/upgraded_connection.hpp"

namespace berth::daemon::streaming {

namespace {

// The HTTP phase of a connection: a client that never finishes its request
// head is dropped after this long. Upgraded sessions have no such limit.
constexpr unsigned int kRequestTimeoutSeconds = 30;
constexpr unsigned int kConnectionLimit = 1000;
// How long stop() waits for sessions to end once their sockets are shut.
constexpr auto kStopGrace = std::chrono::seconds(10);

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string read_file(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error(std::string("cannot read the streaming TLS ") + what + " " + path);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

const std::vector<std::string_view>& remote_command_protocols(Transport transport) {
    static const std::vector<std::string_view> spdy = {
        stream::kRemoteCommandV4, stream::kRemoteCommandV3, stream::kRemoteCommandV2,
        stream::kRemoteCommandV1};
    static const std::vector<std::string_view> websocket = {
        stream::kRemoteCommandV5, stream::kRemoteCommandV4, stream::kRemoteCommandV3,
        stream::kRemoteCommandV2, stream::kRemoteCommandV1};
    return transport == Transport::Spdy ? spdy : websocket;
}

const std::vector<std::string_view>& port_forward_protocols(Transport transport) {
    static const std::vector<std::string_view> spdy = {stream::kPortForwardV1};
    static const std::vector<std::string_view> websocket = {
        stream::kPortForwardWebSocketV4, stream::kPortForwardV1, stream::kRemoteCommandV1};
    return transport == Transport::Spdy ? spdy : websocket;
}

std::string join(const std::vector<std::string_view>& words) {
    std::string text;
    for (const auto word : words)
        text += (text.empty() ? "" : ",") + std::string(word);
    return text;
}

// What the access handler learns about a request, kept by libmicrohttpd
// until the connection is done with it.
struct RequestContext {
    UpgradedConnection connection;
};

using HeaderMap = std::multimap<std::string, std::string>;

MHD_Result collect_header(void* cls, MHD_ValueKind, const char* key, const char* value) {
    static_cast<HeaderMap*>(cls)->emplace(lower(key), value ? value : "");
    return MHD_YES;
}

std::vector<std::string> header_values(const HeaderMap& headers, const std::string& name) {
    std::vector<std::string> values;
    const auto [first, last] = headers.equal_range(name);
    for (auto it = first; it != last; ++it)
        values.push_back(it->second);
    return values;
}

MHD_Result answer(MHD_Connection* connection, unsigned int code, const std::string& text) {
    MHD_Response* response = MHD_create_response_from_buffer(
        text.size() + 1, const_cast<char*>((text + "\n").c_str()), MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(response, "Content-Type", "text/plain; charset=utf-8");
    const MHD_Result queued = MHD_queue_response(connection, code, response);
    MHD_destroy_response(response);
    return queued;
}

void log_from_microhttpd(void*, const char* format, va_list arguments) {
    char message[512];
    std::vsnprintf(message, sizeof message, format, arguments);
    std::string text(message);
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    spdlog::debug("streaming server: {}", text);
}

std::optional<StreamKind> kind_of(std::string_view segment) {
    if (segment == "exec")
        return StreamKind::Exec;
    if (segment == "attach")
        return StreamKind::Attach;
    if (segment == "portforward")
        return StreamKind::PortForward;
    return std::nullopt;
}

}  // namespace

struct StreamingServer::Callbacks {
    static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                                 const char* method, const char*, const char*,
                                 size_t* upload_data_size, void** request_context) {
        auto* server = static_cast<StreamingServer*>(cls);
        if (*request_context == nullptr) {
            *request_context = new RequestContext;
            return MHD_YES;  // called again once the head is complete
        }
        if (*upload_data_size != 0) {
            *upload_data_size = 0;  // a body means nothing here
            return MHD_YES;
        }
        auto* context = static_cast<RequestContext*>(*request_context);

        // /exec/<token>, /attach/<token>, /portforward/<token>
        const std::string_view path(url);
        const auto slash = path.find('/', 1);
        const auto kind = path.size() > 1 && slash != std::string_view::npos
                              ? kind_of(path.substr(1, slash - 1))
                              : std::nullopt;
        const std::string token(slash == std::string_view::npos ? "" : path.substr(slash + 1));
        if (!kind || token.empty() || token.find('/') != std::string::npos)
            return answer(connection, MHD_HTTP_NOT_FOUND, "404 page not found");
        const std::string verb(method);
        if (verb != "GET" && verb != "POST")
            return answer(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET or POST");

        HeaderMap headers;
        MHD_get_connection_values(connection, MHD_HEADER_KIND, &collect_header, &headers);
        const auto upgrade = header_values(headers, "upgrade");
        Transport transport;
        if (!upgrade.empty() &&
            lower(upgrade.front()) == lower(std::string(stream::kSpdyUpgrade))) {
            transport = Transport::Spdy;
        } else if (!upgrade.empty() && lower(upgrade.front()) == "websocket") {
            transport = Transport::WebSocket;
        } else {
            return answer(connection, MHD_HTTP_BAD_REQUEST,
                          "unable to upgrade: the request must upgrade the connection to "
                          "SPDY/3.1 or websocket");
        }
        const auto& supported = *kind == StreamKind::PortForward
                                    ? port_forward_protocols(transport)
                                    : remote_command_protocols(transport);
        const auto offered = stream::split_header_tokens(
            header_values(headers, transport == Transport::Spdy ? "x-stream-protocol-version"
                                                                : "sec-websocket-protocol"));
        std::string protocol;
        if (offered.empty()) {
            // Clients older than protocol negotiation speak the first version.
            protocol = std::string(*kind == StreamKind::PortForward ? stream::kPortForwardV1
                                                                    : stream::kRemoteCommandV1);
        } else if (auto chosen = stream::negotiate_protocol(offered, supported)) {
            protocol = *chosen;
        } else {
            std::string client;
            for (const auto& word : offered)
                client += (client.empty() ? "" : ",") + word;
            return answer(connection, MHD_HTTP_FORBIDDEN,
                          "unable to upgrade: unable to negotiate protocol: client supports [" +
                              client + "], server supports [" + join(supported) + "]");
        }
        std::string accept_key;
        if (transport == Transport::WebSocket) {
            const auto key = header_values(headers, "sec-websocket-key");
            const auto version = header_values(headers, "sec-websocket-version");
            if (key.empty() || version.empty() || version.front() != "13") {
                return answer(connection, MHD_HTTP_BAD_REQUEST,
                              "unable to upgrade: a WebSocket handshake needs Sec-WebSocket-Key "
                              "and Sec-WebSocket-Version 13");
            }
            accept_key = stream::websocket_accept_key(key.front());
        }

        auto request = server->tokens_.consume(token);
        if (!request || request->kind != *kind) {
            return answer(connection, MHD_HTTP_NOT_FOUND,
                          "unknown, used or expired streaming token");
        }
        context->connection.transport = transport;
        context->connection.protocol = protocol;
        context->connection.request = std::move(*request);
        if (const char* ports =
                MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "ports")) {
            context->connection.query["ports"] = ports;
        }

        MHD_Response* response = MHD_create_response_for_upgrade(&on_upgrade, server);
        if (transport == Transport::Spdy) {
            MHD_add_response_header(response, MHD_HTTP_HEADER_UPGRADE,
                                    std::string(stream::kSpdyUpgrade).c_str());
            MHD_add_response_header(response, std::string(stream::kStreamProtocolHeader).c_str(),
                                    protocol.c_str());
        } else {
            MHD_add_response_header(response, MHD_HTTP_HEADER_UPGRADE, "websocket");
            MHD_add_response_header(response, "Sec-WebSocket-Accept", accept_key.c_str());
            if (!offered.empty()) {
                MHD_add_response_header(response,
                                        std::string(stream::kWebSocketProtocolHeader).c_str(),
                                        protocol.c_str());
            }
        }
        const MHD_Result queued =
            MHD_queue_response(connection, MHD_HTTP_SWITCHING_PROTOCOLS, response);
        MHD_destroy_response(response);
        return queued;
    }

    static void on_upgrade(void* cls, MHD_Connection*, void* request_context, const char* extra_in,
                           size_t extra_in_size, MHD_socket socket,
                           MHD_UpgradeResponseHandle* handle) {
        auto* server = static_cast<StreamingServer*>(cls);
        auto* context = static_cast<RequestContext*>(request_context);
        UpgradedConnection connection = std::move(context->connection);
        connection.initial_input.assign(extra_in, extra_in_size);
        // Our own descriptor of the socket: the transports own and close
        // theirs; libmicrohttpd closes the original when told to.
        connection.fd.reset(::fcntl(socket, F_DUPFD_CLOEXEC, 3));
        if (!connection.fd) {
            MHD_upgrade_action(handle, MHD_UPGRADE_ACTION_CLOSE);
            return;
        }
        ::fcntl(connection.fd.get(), F_SETFL, ::fcntl(connection.fd.get(), F_GETFL) & ~O_NONBLOCK);
        {
            std::lock_guard lock(server->sessions_mutex_);
            server->session_fds_.insert(socket);
            ++server->active_sessions_;
        }
        // Called from libmicrohttpd's loop, which must not block: the session
        // gets a thread of its own.
        std::thread([server, socket, handle, moved = std::move(connection)]() mutable {
            server->run_session(std::move(moved));
            if (server->session_ended_observer_)
                server->session_ended_observer_();
            std::lock_guard lock(server->sessions_mutex_);
            server->session_fds_.erase(socket);
            MHD_upgrade_action(handle, MHD_UPGRADE_ACTION_CLOSE);
            --server->active_sessions_;
            server->sessions_ended_.notify_all();
        }).detach();
    }

    static void on_completed(void*, MHD_Connection*, void** request_context,
                             MHD_RequestTerminationCode) {
        delete static_cast<RequestContext*>(*request_context);
        *request_context = nullptr;
    }
};

StreamingServer::StreamingServer(StreamBackend& backend) : backend_(backend) {}

StreamingServer::~StreamingServer() {
    stop();
}

void StreamingServer::start(const StreamingOptions& options) {
    sockaddr_storage address{};
    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
    if (options.port < 0 || options.port > 65535)
        throw std::runtime_error("streaming port out of range: " + std::to_string(options.port));
    const auto port = htons(static_cast<std::uint16_t>(options.port));
    std::string url_host = options.address;
    if (auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
        ::inet_pton(AF_INET, options.address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = port;
        if (v4->sin_addr.s_addr == htonl(INADDR_ANY))
            url_host = "127.0.0.1";  // kubelet, on this node, proxies the stream
    } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
               ::inet_pton(AF_INET6, options.address.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = port;
        flags |= MHD_USE_IPv6;
        url_host = IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr) ? "[::1]" : "[" + options.address + "]";
    } else {
        throw std::runtime_error("stream_address " + options.address +
                                 " is not an IPv4 or IPv6 address");
    }
    if (options.tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            throw std::runtime_error(
                "this libmicrohttpd has no TLS: the streaming server cannot "
                "serve https");
        tls_cert_ = read_file(options.tls_cert, "certificate");
        tls_key_ = read_file(options.tls_key, "key");
        flags |= MHD_USE_TLS;
    }
    daemon_ = MHD_start_daemon(
        flags, 0, nullptr, nullptr, &Callbacks::on_request, this, MHD_OPTION_SOCK_ADDR,
        reinterpret_cast<sockaddr*>(&address), MHD_OPTION_CONNECTION_TIMEOUT,
        kRequestTimeoutSeconds, MHD_OPTION_CONNECTION_LIMIT, kConnectionLimit,
        MHD_OPTION_NOTIFY_COMPLETED, &Callbacks::on_completed, nullptr, MHD_OPTION_EXTERNAL_LOGGER,
        &log_from_microhttpd, nullptr,
        // Without TLS the list ends here and the key and certificate are not read.
        options.tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, tls_key_.c_str(),
        MHD_OPTION_HTTPS_MEM_CERT, tls_cert_.c_str(), MHD_OPTION_END);
    if (daemon_ == nullptr) {
        throw std::runtime_error(
            "the streaming server cannot listen on " + options.address + ":" +
            std::to_string(options.port) +
            (options.tls ? " (or its TLS certificate and key are invalid)" : " (address in use?)"));
    }
    const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    const int bound = info != nullptr ? info->port : options.port;
    base_url_ =
        std::string(options.tls ? "https://" : "http://") + url_host + ":" + std::to_string(bound);
    spdlog::info("streaming server (exec, attach, port-forward) on {}", base_url_);
}

void StreamingServer::stop() {
    if (daemon_ == nullptr)
        return;
    // Sessions end when their sockets do; the processes they ran are killed
    // (exec) or left running (attach).
    std::unique_lock lock(sessions_mutex_);
    for (const int fd : session_fds_)
        ::shutdown(fd, SHUT_RDWR);
    if (!sessions_ended_.wait_for(lock, kStopGrace, [this] { return active_sessions_ == 0; })) {
        spdlog::warn("streaming server: {} sessions still running at shutdown", active_sessions_);
        return;  // libmicrohttpd must outlive them; the process is ending anyway
    }
    lock.unlock();
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
}

bool StreamingServer::running() const {
    return daemon_ != nullptr;
}

std::string StreamingServer::base_url() const {
    return base_url_;
}

std::string StreamingServer::url_for(StreamRequest request) {
    if (!running()) {
        throw StatusError(grpc::StatusCode::UNAVAILABLE, "the streaming server is not running");
    }
    const StreamKind kind = request.kind;
    return base_url_ + "/" + path_segment(kind) + "/" + tokens_.insert(std::move(request));
}

int StreamingServer::active_sessions() const {
    std::lock_guard lock(sessions_mutex_);
    return active_sessions_;
}

void StreamingServer::run_session(UpgradedConnection connection) {
    try {
        const bool forward = connection.request.kind == StreamKind::PortForward;
        if (connection.transport == Transport::Spdy) {
            forward ? serve_spdy_port_forward(std::move(connection), backend_)
                    : serve_spdy_remote_command(std::move(connection), backend_);
        } else {
            forward ? serve_websocket_port_forward(std::move(connection), backend_)
                    : serve_websocket_remote_command(std::move(connection), backend_);
        }
    } catch (const std::exception& error) {
        spdlog::warn("streaming session ended: {}", error.what());
    }
}

}  // namespace berth::daemon::streaming
