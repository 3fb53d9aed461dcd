#include "berth/stream/tls_relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>

namespace berth::stream {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kChunk = 16 * 1024;  // one TLS record's worth of plaintext

struct SslDeleter {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

int poll_timeout(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0)
        return 0;
    return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

// Everything on OpenSSL's (per-thread) error queue, oldest first; empties it.
std::string drain_openssl_errors() {
    std::string text;
    while (const unsigned long code = ERR_get_error()) {
        std::array<char, 256> buffer{};
        ERR_error_string_n(code, buffer.data(), buffer.size());
        if (!text.empty())
            text += "; ";
        text += buffer.data();
    }
    return text;
}

std::string openssl_reason(const std::string& what) {
    const std::string reason = drain_openssl_errors();
    return reason.empty() ? what : what + ": " + reason;
}

// Why an SSL call failed, in words a user can act on.
std::string describe_ssl_failure(SSL* ssl, int result, const std::string& what) {
    const int saved_errno = errno;
    const int kind = SSL_get_error(ssl, result);
    // The verification result is kept (and not OK) even when verification
    // was switched off; it explains a failure only when it was enforced.
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0) {
        drain_openssl_errors();
        return what + ": certificate verification failed: " + X509_verify_cert_error_string(verify);
    }
    std::string reason = drain_openssl_errors();
    if (kind == SSL_ERROR_SYSCALL && reason.empty()) {
        reason = saved_errno != 0 ? std::strerror(saved_errno) : "connection closed by the peer";
    }
    if (reason.empty()) {
        reason = "OpenSSL error " + std::to_string(kind);
    }
    return what + ": " + reason;
}

bool is_ip_literal(const std::string& name) {
    std::array<unsigned char, 16> address{};
    return inet_pton(AF_INET, name.c_str(), address.data()) == 1 ||
           inet_pton(AF_INET6, name.c_str(), address.data()) == 1;
}

void set_nonblocking(int fd) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) {
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
}

void restrict_protocols(SSL_CTX* ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // A peer that drops TCP without close_notify ends the stream like EOF:
    // streaming peers do that, and nothing here depends on truncation.
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

}  // namespace

SslCtxPtr make_server_ssl_ctx(const std::string& cert_file, const std::string& key_file,
                              const std::string& client_ca_file) {
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
        throw TlsError(openssl_reason("cannot create a TLS server context"));
    }
    restrict_protocols(ctx.get());
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
        throw TlsError(openssl_reason("cannot load the TLS certificate " + cert_file));
    }
    // OpenSSL checks that the key matches the certificate while loading it;
    // a mismatch is the likelier mistake and deserves its own words.
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1 &&
        ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
        throw TlsError(openssl_reason("cannot load the TLS private key " + key_file));
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
        throw TlsError(openssl_reason("the TLS private key " + key_file +
                                      " does not belong to the certificate " + cert_file));
    }
    if (!client_ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx.get(), client_ca_file.c_str(), nullptr) != 1) {
            throw TlsError(openssl_reason("cannot load the client CA file " + client_ca_file));
        }
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    return ctx;
}

SslCtxPtr make_client_ssl_ctx(const TlsClientConfig& config) {
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        throw TlsError(openssl_reason("cannot create a TLS client context"));
    }
    restrict_protocols(ctx.get());
    if (config.insecure) {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    } else {
        const bool loaded =
            config.ca_file.empty()
                ? SSL_CTX_set_default_verify_paths(ctx.get()) == 1
                : SSL_CTX_load_verify_locations(ctx.get(), config.ca_file.c_str(), nullptr) == 1;
        if (!loaded) {
            throw TlsError(openssl_reason(
                config.ca_file.empty() ? std::string("cannot load the system's CA certificates")
                                       : "cannot load the CA file " + config.ca_file));
        }
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    }
    if (!config.cert_file.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx.get(), config.cert_file.c_str()) != 1) {
            throw TlsError(openssl_reason("cannot load the TLS certificate " + config.cert_file));
        }
        const std::string& key = config.key_file.empty() ? config.cert_file : config.key_file;
        if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx.get()) != 1) {
            throw TlsError(openssl_reason("cannot use the TLS private key " + key));
        }
    }
    return ctx;
}

struct TlsRelay::State {
    OwnedFd tcp;
    OwnedFd relay_end;  // our end of the socket pair
    OwnedFd wake;       // eventfd: readable once the owner asks the relay to stop
    SslPtr ssl;
    TlsRelayOptions options;

    mutable std::mutex mutex;
    std::condition_variable changed;
    bool handshake_done = false;
    bool handshake_ok = false;
    bool finished = false;
    std::string error;

    void set_error(const std::string& message) {
        std::lock_guard lock(mutex);
        if (error.empty())
            error = message;
    }
    void finish_handshake(bool ok) {
        {
            std::lock_guard lock(mutex);
            handshake_done = true;
            handshake_ok = ok;
        }
        changed.notify_all();
    }
};

namespace {

// What one pass of non-blocking TLS work left us waiting for.
struct Relay {
    TlsRelay::State& state;
    SSL* ssl;
    int tcp;
    int plain;
    int wake;

    std::array<char, kChunk> to_plain{};  // decrypted, on its way to the plain end
    std::size_t to_plain_begin = 0;
    std::size_t to_plain_end = 0;
    std::array<char, kChunk> to_tls{};  // read from the plain end, on its way to SSL_write
    std::size_t to_tls_size = 0;

    bool tls_in_open = true;      // the peer may still send
    bool plain_in_open = true;    // the plain end may still send
    bool plain_out_shut = false;  // the plain end was told EOF
    bool plain_gone = false;      // the plain end is closed entirely: nobody reads
    bool notify_sent = false;     // our close_notify went out (or cannot)
    bool finishing = false;       // stop asked or plain end gone: flush and leave
    Clock::time_point finish_deadline{};

    short read_wants = 0;
    short write_wants = 0;
    short shutdown_wants = 0;

    void begin_finishing() {
        if (!finishing) {
            finishing = true;
            finish_deadline = Clock::now() + state.options.linger;
        }
    }

    bool to_plain_empty() const { return to_plain_begin == to_plain_end; }

    // Returns false on a fatal error (recorded in the state).
    bool pump_tls_to_plain(bool& progress) {
        if (!finishing && tls_in_open && to_plain_empty()) {
            ERR_clear_error();
            const int got = SSL_read(ssl, to_plain.data(), static_cast<int>(to_plain.size()));
            if (got > 0) {
                to_plain_begin = 0;
                to_plain_end = static_cast<std::size_t>(got);
                read_wants = 0;
                progress = true;
            } else {
                switch (SSL_get_error(ssl, got)) {
                case SSL_ERROR_WANT_READ:
                    read_wants = POLLIN;
                    break;
                case SSL_ERROR_WANT_WRITE:
                    read_wants = POLLOUT;
                    break;
                case SSL_ERROR_ZERO_RETURN:
                    tls_in_open = false;
                    progress = true;
                    break;
                default:
                    state.set_error(describe_ssl_failure(ssl, got, "TLS read failed"));
                    return false;
                }
            }
        }
        if (finishing) {
            to_plain_begin = to_plain_end = 0;  // nobody will read it any more
        }
        if (!to_plain_empty()) {
            const ssize_t sent = ::send(plain, to_plain.data() + to_plain_begin,
                                        to_plain_end - to_plain_begin, MSG_NOSIGNAL);
            if (sent > 0) {
                to_plain_begin += static_cast<std::size_t>(sent);
                progress = true;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                plain_gone = true;  // EPIPE: the user closed its end
                begin_finishing();
                progress = true;
            }
        }
        if (!finishing && !tls_in_open && to_plain_empty() && !plain_out_shut) {
            ::shutdown(plain, SHUT_WR);
            plain_out_shut = true;
            progress = true;
        }
        return true;
    }

    bool pump_plain_to_tls(bool& progress) {
        if (plain_in_open && to_tls_size == 0) {
            const ssize_t got = ::recv(plain, to_tls.data(), to_tls.size(), 0);
            if (got > 0) {
                to_tls_size = static_cast<std::size_t>(got);
                progress = true;
            } else if (got == 0) {
                plain_in_open = false;
                progress = true;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                // While finishing, only what is already there still counts.
                if (finishing) {
                    plain_in_open = false;
                    progress = true;
                }
            } else if (errno != EINTR) {
                plain_in_open = false;
                plain_gone = true;
                begin_finishing();
                progress = true;
            }
        }
        if (to_tls_size > 0) {
            ERR_clear_error();
            // Without partial writes SSL_write takes all or nothing, and a
            // retry passes the same buffer as OpenSSL requires.
            const int sent = SSL_write(ssl, to_tls.data(), static_cast<int>(to_tls_size));
            if (sent > 0) {
                to_tls_size = 0;
                write_wants = 0;
                progress = true;
            } else {
                switch (SSL_get_error(ssl, sent)) {
                case SSL_ERROR_WANT_READ:
                    write_wants = POLLIN;
                    break;
                case SSL_ERROR_WANT_WRITE:
                    write_wants = POLLOUT;
                    break;
                default:
                    state.set_error(describe_ssl_failure(ssl, sent, "TLS write failed"));
                    return false;
                }
            }
        }
        if (!plain_in_open && to_tls_size == 0 && !notify_sent) {
            ERR_clear_error();
            const int result = SSL_shutdown(ssl);
            if (result >= 0) {
                notify_sent = true;
                progress = true;
            } else {
                switch (SSL_get_error(ssl, result)) {
                case SSL_ERROR_WANT_READ:
                    shutdown_wants = POLLIN;
                    break;
                case SSL_ERROR_WANT_WRITE:
                    shutdown_wants = POLLOUT;
                    break;
                default:
                    // The peer is gone already; there is nobody to notify.
                    drain_openssl_errors();
                    notify_sent = true;
                    progress = true;
                }
            }
        }
        return true;
    }

    bool done() const {
        if (!notify_sent)
            return false;
        return finishing || plain_gone || (!tls_in_open && plain_out_shut);
    }

    void run() {
        for (;;) {
            bool progress = true;
            while (progress) {
                progress = false;
                if (!pump_tls_to_plain(progress) || !pump_plain_to_tls(progress)) {
                    return;
                }
            }
            if (done())
                return;
            if (finishing && Clock::now() >= finish_deadline) {
                state.set_error("the peer did not take the last data within the linger time");
                return;
            }

            std::array<pollfd, 3> fds{};
            fds[0] = {finishing ? -1 : wake, POLLIN, 0};
            short tcp_events = 0;
            if (!finishing && tls_in_open && to_plain_empty())
                tcp_events |= read_wants;
            if (to_tls_size > 0)
                tcp_events |= write_wants;
            if (!plain_in_open && to_tls_size == 0 && !notify_sent)
                tcp_events |= shutdown_wants;
            fds[1] = {tcp_events != 0 ? tcp : -1, tcp_events, 0};
            short plain_events = 0;
            if (plain_in_open && to_tls_size == 0)
                plain_events |= POLLIN;
            if (!to_plain_empty())
                plain_events |= POLLOUT;
            // Polled even with no events while it is open: POLLHUP says the
            // user closed it, which ends a relay nobody can use any more.
            fds[2] = {plain_gone ? -1 : plain, plain_events, 0};
            if (plain_events == 0 && finishing)
                fds[2].fd = -1;

            const int ready =
                ::poll(fds.data(), fds.size(), finishing ? poll_timeout(finish_deadline) : -1);
            if (ready < 0 && errno != EINTR) {
                state.set_error(std::string("poll failed: ") + std::strerror(errno));
                return;
            }
            if (fds[0].revents != 0) {
                begin_finishing();
            }
            if ((fds[2].revents & POLLHUP) != 0 && plain_events == 0) {
                plain_gone = true;
                begin_finishing();
            }
        }
    }
};

bool handshake(TlsRelay::State& state) {
    SSL* ssl = state.ssl.get();
    const auto deadline = Clock::now() + state.options.handshake_timeout;
    for (;;) {
        ERR_clear_error();
        const int result = SSL_do_handshake(ssl);
        if (result == 1)
            return true;
        short events = 0;
        switch (SSL_get_error(ssl, result)) {
        case SSL_ERROR_WANT_READ:
            events = POLLIN;
            break;
        case SSL_ERROR_WANT_WRITE:
            events = POLLOUT;
            break;
        default:
            state.set_error(describe_ssl_failure(ssl, result, "TLS handshake failed"));
            return false;
        }
        std::array<pollfd, 2> fds{};
        fds[0] = {state.tcp.get(), events, 0};
        fds[1] = {state.wake.get(), POLLIN, 0};
        const int ready = ::poll(fds.data(), fds.size(), poll_timeout(deadline));
        if (ready < 0 && errno != EINTR) {
            state.set_error(std::string("poll failed: ") + std::strerror(errno));
            return false;
        }
        if (fds[1].revents != 0) {
            state.set_error("TLS handshake abandoned");
            return false;
        }
        if (ready == 0) {
            state.set_error("TLS handshake timed out after " +
                            std::to_string(state.options.handshake_timeout.count()) + " ms");
            return false;
        }
    }
}

void relay_thread(std::shared_ptr<TlsRelay::State> state) {
    // OpenSSL writes to the TCP socket with write(): a peer that reset the
    // connection would raise SIGPIPE. Blocked here, it stays pending on this
    // thread (discarded when it ends) and the write fails with EPIPE.
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);

    const bool ok = handshake(*state);
    state->finish_handshake(ok);
    if (ok) {
        Relay relay{*state, state->ssl.get(), state->tcp.get(), state->relay_end.get(),
                    state->wake.get()};
        relay.run();
    }
    // Closing here, not when the last owner lets go, is what tells the plain
    // end's reader that the connection is over.
    state->ssl.reset();
    state->tcp.reset();
    state->relay_end.reset();
    ERR_clear_error();
    {
        std::lock_guard lock(state->mutex);
        state->finished = true;
    }
    state->changed.notify_all();
}

}  // namespace

TlsRelay::TlsRelay(std::shared_ptr<State> state, OwnedFd plain)
    : state_(std::move(state)), plain_(std::move(plain)) {}

std::unique_ptr<TlsRelay> TlsRelay::start(OwnedFd tcp, SSL_CTX* ctx,
                                          const TlsRelayOptions& options) {
    auto state = std::make_shared<State>();
    state->options = options;
    std::array<int, 2> pair{};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) != 0) {
        throw TlsError(std::string("socketpair failed: ") + std::strerror(errno));
    }
    OwnedFd plain(pair[0]);
    state->relay_end.reset(pair[1]);
    state->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!state->wake) {
        throw TlsError(std::string("eventfd failed: ") + std::strerror(errno));
    }
    ERR_clear_error();
    state->ssl.reset(SSL_new(ctx));
    if (!state->ssl) {
        throw TlsError(openssl_reason("cannot create a TLS connection"));
    }
    SSL* ssl = state->ssl.get();
    if (SSL_set_fd(ssl, tcp.get()) != 1) {
        throw TlsError(openssl_reason("cannot attach the TLS connection to its socket"));
    }
    if (options.role == TlsRole::Client) {
        SSL_set_connect_state(ssl);
        const std::string& name = options.peer_name;
        if (!name.empty()) {
            bool ok = true;
            if (is_ip_literal(name)) {
                ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
            } else {
                // RFC 6066 allows SNI for host names only.
                ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1 &&
                     SSL_set1_host(ssl, name.c_str()) == 1;
            }
            if (!ok) {
                throw TlsError(openssl_reason("cannot set the TLS peer name " + name));
            }
        }
    } else {
        SSL_set_accept_state(ssl);
    }
    set_nonblocking(tcp.get());
    set_nonblocking(state->relay_end.get());
    state->tcp = std::move(tcp);

    std::unique_ptr<TlsRelay> relay(new TlsRelay(state, std::move(plain)));
    relay->thread_ = std::thread(relay_thread, std::move(state));
    return relay;
}

bool TlsRelay::wait_handshake() {
    std::unique_lock lock(state_->mutex);
    state_->changed.wait(lock, [this] { return state_->handshake_done; });
    return state_->handshake_ok;
}

OwnedFd TlsRelay::take_plain_fd() {
    return std::move(plain_);
}

std::string TlsRelay::error() const {
    std::lock_guard lock(state_->mutex);
    return state_->error;
}

bool TlsRelay::finished() const {
    std::lock_guard lock(state_->mutex);
    return state_->finished;
}

void TlsRelay::detach(std::unique_ptr<TlsRelay> relay) {
    if (relay && relay->thread_.joinable()) {
        relay->thread_.detach();  // the thread holds the state; it frees it at its end
    }
}

TlsRelay::~TlsRelay() {
    plain_.reset();
    if (thread_.joinable()) {
        const std::uint64_t one = 1;
        // The eventfd lives in the state the thread still holds.
        [[maybe_unused]] const ssize_t ignored = ::write(state_->wake.get(), &one, sizeof(one));
        thread_.join();
    }
}

TlsClientConnection tls_connect(OwnedFd tcp, SSL_CTX* ctx, const std::string& peer_name,
                                std::chrono::milliseconds timeout) {
    TlsRelayOptions options;
    options.role = TlsRole::Client;
    options.peer_name = peer_name;
    options.handshake_timeout = timeout;
    TlsClientConnection connection;
    connection.relay = TlsRelay::start(std::move(tcp), ctx, options);
    if (!connection.relay->wait_handshake()) {
        throw TlsError(connection.relay->error());
    }
    connection.plain = connection.relay->take_plain_fd();
    return connection;
}

}  // namespace berth::stream
