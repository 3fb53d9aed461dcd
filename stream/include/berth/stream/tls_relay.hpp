// TLS over a TCP socket, presented to the rest of the code as a plain socket.
//
// The relay does the handshake and then moves bytes between the TLS
// connection and one end of a socket pair; its user gets the other end and
// reads and writes cleartext as on any socket (and can hand it to code that
// knows nothing of TLS, such as an HTTP server library). Half-closes cross
// the relay both ways: shutdown(SHUT_WR) on the plain end sends close_notify,
// the peer's close_notify (or its FIN) reads as EOF on the plain end.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "berth/stream/owned_fd.hpp"

namespace berth::stream {

class TlsError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct SslCtxDeleter {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// A server context from PEM files (the certificate file may hold the chain).
// With `client_ca_file`, clients must present a certificate signed by it.
// Throws TlsError naming the file and OpenSSL's reason.
SslCtxPtr make_server_ssl_ctx(const std::string& cert_file, const std::string& key_file,
                              const std::string& client_ca_file = {});

struct TlsClientConfig {
    std::string ca_file;    // trusted CAs (PEM); empty: the system's default store
    bool insecure = false;  // accept any server certificate (tests, debugging)
    std::string cert_file;  // client certificate for servers that ask for one
    std::string key_file;
};
// A client context; throws TlsError naming the file and OpenSSL's reason.
SslCtxPtr make_client_ssl_ctx(const TlsClientConfig& config);

enum class TlsRole { Client, Server };

struct TlsRelayOptions {
    TlsRole role = TlsRole::Client;
    // Client: the host name or IP literal the server certificate must match,
    // also sent as SNI (names only). Empty: no name check.
    std::string peer_name;
    std::chrono::milliseconds handshake_timeout{10'000};
    // How long the relay may spend, once told to stop or once the plain end
    // is closed, delivering what is left and close_notify to the peer.
    std::chrono::milliseconds linger{2'000};
};

class TlsRelay {
public:
    // Starts the relay thread on a connected TCP socket; the handshake runs
    // on that thread, so this never blocks. The SSL object takes its own
    // reference to `ctx`. Throws TlsError if resources cannot be had.
    static std::unique_ptr<TlsRelay> start(OwnedFd tcp, SSL_CTX* ctx,
                                           const TlsRelayOptions& options);

    // Blocks until the handshake has finished: true when it succeeded,
    // false (and error() says why) when it failed or timed out; the plain
    // end then reads EOF.
    bool wait_handshake();

    // The plain end, for the caller to own. Invalid after the first call.
    OwnedFd take_plain_fd();

    // Why the relay ended early (handshake failure, TLS or I/O error); empty
    // while all is well and after an orderly end.
    std::string error() const;
    // Whether the relay thread is done (both fds closed).
    bool finished() const;

    // Lets the relay run on its own until the connection ends (both sides
    // closed or an error); it then frees everything by itself. For servers
    // that hand the plain end over and forget the connection.
    static void detach(std::unique_ptr<TlsRelay> relay);

    // Unless detached: tells the relay to deliver what the plain end already
    // wrote plus close_notify (within the linger time), then joins it.
    ~TlsRelay();
    TlsRelay(const TlsRelay&) = delete;
    TlsRelay& operator=(const TlsRelay&) = delete;

    struct State;  // shared with the relay thread, which may outlive this object

private:
    TlsRelay(std::shared_ptr<State> state, OwnedFd plain);

    std::shared_ptr<State> state_;
    OwnedFd plain_;
    std::thread thread_;
};

// A client's side of a relayed TLS connection. Members are destroyed
// bottom-up: the plain end is closed before the relay is stopped, so that
// what was written to it still goes out.
struct TlsClientConnection {
    std::unique_ptr<TlsRelay> relay;
    OwnedFd plain;
};

// Client convenience: the TLS handshake over `tcp`, waited for. Throws
// TlsError carrying the handshake's failure reason, such as a certificate
// that does not verify.
TlsClientConnection tls_connect(OwnedFd tcp, SSL_CTX* ctx, const std::string& peer_name,
                                std::chrono::milliseconds timeout);

}  // namespace berth::stream
