// The client side of an HTTP/1.1 upgrade (RFC 9110 section 7.8), as
// berthctl and the tests use it to reach a streaming server: connect (over
// TLS for https), send the request head, read the response head, and hand
// over the socket with whatever was read past the head.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/stream/owned_fd.hpp"
#include "berth/stream/tls_relay.hpp"

namespace berth::stream {

class HttpUpgradeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxHttpHeadSize = 64 * 1024;

// http://host:port/path?query, https://..., and ws:// and wss:// as their
// aliases. The host may be a name, an IPv4 address or an IPv6 address in
// brackets; the port defaults to 80 or 443.
struct HttpUrl {
    bool tls = false;
    std::string host;  // without brackets
    std::uint16_t port = 80;
    std::string target = "/";  // path and query, as sent in the request line

    // host[:port] as the Host header wants it (brackets around IPv6, the
    // port left out when it is the scheme's default).
    std::string authority() const;
};
// Throws HttpUpgradeError saying what is wrong with the URL.
HttpUrl parse_http_url(std::string_view url);

// Header fields in the order received. Names compare case-insensitively; a
// field may occur several times.
class HttpHeaders {
public:
    void add(std::string name, std::string value);
    // The first value of `name`.
    std::optional<std::string> get(std::string_view name) const;
    std::vector<std::string> get_all(std::string_view name) const;
    bool has(std::string_view name) const { return get(name).has_value(); }
    const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

private:
    std::vector<std::pair<std::string, std::string>> entries_;
};

struct HttpResponseHead {
    int status = 0;
    std::string reason;
    HttpHeaders headers;
};

// The length of the head at the start of `data` including the empty line
// that ends it, or 0 while no empty line has arrived. Lines end in CRLF
// (a bare LF is tolerated, as RFC 9112 permits).
std::size_t find_http_head_end(std::string_view data);

// Parses a complete response head: status line, header fields, empty line.
// Throws HttpUpgradeError when the head is incomplete, larger than
// `max_size`, or malformed (a bad status line, a field without a colon,
// whitespace before the colon, obsolete line folding, control characters).
HttpResponseHead parse_http_response_head(std::string_view head,
                                          std::size_t max_size = kMaxHttpHeadSize);

struct HttpUpgradeRequest {
    std::string url;
    std::string method = "GET";
    // Sent after Host (which is set from the URL unless given here), e.g.
    // Connection: Upgrade, Upgrade: websocket, the protocol offers.
    std::vector<std::pair<std::string, std::string>> headers;
    TlsClientConfig tls;  // for https URLs
    // One deadline for all of it: resolving aside, connecting, the TLS
    // handshake, sending the request and reading the response head.
    std::chrono::milliseconds timeout{30'000};
    std::size_t max_head_size = kMaxHttpHeadSize;
};

// The outcome of the exchange, whatever the status: a refused upgrade is
// not an error here, the caller looks at the status (101 on success).
struct HttpUpgradeResponse {
    int status = 0;
    std::string reason;
    HttpHeaders headers;
    // https only: the relay behind `fd`; it must outlive the use of `fd`.
    // Declared before `fd` so that `fd` closes first and the relay can still
    // deliver what was written to it.
    std::unique_ptr<TlsRelay> tls_relay;
    // The connection as a plain stream socket, blocking, owned.
    OwnedFd fd;
    // Bytes that arrived after the head: the start of the upgraded stream
    // (or of the body of a refusal).
    std::string leftover;
};

// Connects and performs the exchange. Throws HttpUpgradeError for a bad
// URL or header, a failed resolve, connect or TLS handshake (with its
// reason: e.g. the certificate did not verify), a timeout, or a malformed
// response.
HttpUpgradeResponse http_upgrade(const HttpUpgradeRequest& request);

}  // namespace berth::stream
