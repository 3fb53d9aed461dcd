// A thin RAII layer over libcurl for the registry client: one request, its
// status, headers and body (buffered, or streamed to a sink for blobs).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace berth::storage {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;                  // sent for POST
    bool verify_tls = true;
    std::chrono::seconds connect_timeout{30};
    // A transfer slower than 1 KiB/s for this long is abandoned: a stalled
    // registry must not hold a pull forever.
    std::chrono::seconds stall_timeout{60};
};

struct HttpResponse {
    long status = 0;
    std::multimap<std::string, std::string> headers;  // names in lower case
    std::string body;       // buffered body (error bodies always land here)
    std::string final_url;  // after redirects
    std::string header(const std::string& lower_case_name) const;
};

// Receives the body of a 2xx response piece by piece; returns false to abort.
using BodySink = std::function<bool(const char* data, std::size_t size)>;

class HttpTransportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Performs the request, following redirects (libcurl drops an Authorization
// header when a redirect leaves the host). Bodies of 2xx responses go to
// `sink` when one is given, otherwise they are buffered up to `max_body`
// bytes. Throws HttpTransportError for anything below HTTP (DNS, connect,
// TLS, timeout, a body over the limit, an aborting sink).
HttpResponse http_perform(const HttpRequest& request, const BodySink& sink = {},
                          std::size_t max_body = 4 << 20);

// "user:password" → "Basic base64"; also used to decode CRI's `auth` field.
std::string base64_encode(const std::string& data);
std::string base64_decode(const std::string& data);
std::string url_escape(const std::string& text);

}  // namespace berth::storage
