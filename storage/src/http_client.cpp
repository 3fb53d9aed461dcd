#include "http_client.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace berth::storage {
namespace {

void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Transfer {
    HttpResponse* response = nullptr;
    CURL* handle = nullptr;
    const BodySink* sink = nullptr;
    std::size_t max_body = 0;
    bool over_limit = false;
    bool sink_aborted = false;
};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const std::string line(data, size * count);
    // A new status line starts a new response (after a redirect or a 100):
    // only the headers of the last one matter.
    if (line.rfind("HTTP/", 0) == 0) {
        transfer->response->headers.clear();
        return size * count;
    }
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
        auto value = line.substr(colon + 1);
        const auto first = value.find_first_not_of(" \t");
        const auto last = value.find_last_not_of(" \t\r\n");
        value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
        transfer->response->headers.emplace(lower(line.substr(0, colon)), value);
    }
    return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const std::size_t length = size * count;
    long status = 0;
    curl_easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &status);
    if (transfer->sink != nullptr && *transfer->sink && status >= 200 && status < 300) {
        if (!(*transfer->sink)(data, length)) {
            transfer->sink_aborted = true;
            return 0;
        }
        return length;
    }
    if (transfer->response->body.size() + length > transfer->max_body) {
        transfer->over_limit = true;
        return 0;
    }
    transfer->response->body.append(data, length);
    return length;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_case_name) const {
    const auto found = headers.find(lower_case_name);
    return found == headers.end() ? "" : found->second;
}

HttpResponse http_perform(const HttpRequest& request, const BodySink& sink, std::size_t max_body) {
    global_init_once();
    std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
    if (!handle) {
        throw HttpTransportError("cannot create a libcurl handle");
    }
    HttpResponse response;
    Transfer transfer{&response, handle.get(), &sink, max_body};
    char error_text[CURL_ERROR_SIZE] = {};

    std::unique_ptr<curl_slist, SlistDeleter> headers;
    for (const auto& header : request.headers) {
        curl_slist* appended = curl_slist_append(headers.get(), header.c_str());
        if (appended == nullptr) {
            throw HttpTransportError("out of memory building request headers");
        }
        (void)headers.release();
        headers.reset(appended);
    }

    CURL* h = handle.get();
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM-based DNS timeouts
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(request.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.stall_timeout.count()));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "berth");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // identity or whatever curl can undo
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, request.verify_tls ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, request.verify_tls ? 2L : 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    if (request.method == "POST") {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    } else if (request.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    const CURLcode code = curl_easy_perform(h);
    if (transfer.sink_aborted) {
        throw HttpTransportError("transfer aborted by the receiver");
    }
    if (transfer.over_limit) {
        throw HttpTransportError("response body larger than " + std::to_string(max_body) +
                                 " bytes");
    }
    if (code != CURLE_OK) {
        throw HttpTransportError(error_text[0] != '\0' ? error_text : curl_easy_strerror(code));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    char* final_url = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &final_url) == CURLE_OK &&
        final_url != nullptr) {
        response.final_url = final_url;
    }
    return response;
}

std::string base64_encode(const std::string& data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                       reinterpret_cast<const unsigned char*>(data.data()),
                                       static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(length));
    return out;
}

std::string base64_decode(const std::string& data) {
    std::string trimmed = data;
    trimmed.erase(std::remove_if(trimmed.begin(), trimmed.end(),
                                 [](unsigned char c) { return std::isspace(c); }),
                  trimmed.end());
    if (trimmed.size() % 4 != 0) {
        throw std::invalid_argument("not valid base64");
    }
    std::string out(3 * trimmed.size() / 4 + 1, '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                       reinterpret_cast<const unsigned char*>(trimmed.data()),
                                       static_cast<int>(trimmed.size()));
    if (length < 0) {
        throw std::invalid_argument("not valid base64");
    }
    // EVP_DecodeBlock counts the padding as zero bytes; drop them.
    std::size_t size = static_cast<std::size_t>(length);
    for (auto it = trimmed.rbegin(); it != trimmed.rend() && *it == '='; ++it) {
        --size;
    }
    out.resize(size);
    return out;
}

std::string url_escape(const std::string& text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

}  // namespace berth::storage
