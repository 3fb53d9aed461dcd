#include "berth/storage/registry_client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>

#include "berth/storage/sha256.hpp"
#include "berth/storage/storage_error.hpp"
#include "http_client.hpp"

namespace berth::storage {
namespace {

// Every blob byte received, for berth_image_pull_bytes_total.
std::atomic<std::uint64_t> blob_bytes_total{0};

bool is_loopback(const std::string& host) {
    const auto colon = host.rfind(':');
    const std::string name =
        colon != std::string::npos && host.find(']') == std::string::npos ? host.substr(0, colon)
        : host.find(']') != std::string::npos ? host.substr(0, host.find(']') + 1)
                                              : host;
    return name == "localhost" || name.rfind("127.", 0) == 0 || name == "[::1]";
}

// Docker Hub's API lives on another host than the name users write.
std::string api_host(const std::string& registry) {
    return registry == "docker.io" ? "registry-1.docker.io" : registry;
}

bool listed(const std::vector<std::string>& list, const std::string& host) {
    return std::find(list.begin(), list.end(), host) != list.end();
}

// The scheme an insecure registry turned out to speak, so that only the first
// pull from it pays for trying TLS.
std::mutex scheme_mutex;
std::map<std::string, std::string> chosen_base_urls;

std::map<std::string, std::string> parse_challenge_parameters(const std::string& text) {
    std::map<std::string, std::string> parameters;
    std::size_t at = 0;
    while (at < text.size()) {
        while (at < text.size() && (text[at] == ' ' || text[at] == ','))
            ++at;
        const auto equals = text.find('=', at);
        if (equals == std::string::npos)
            break;
        std::string key = text.substr(at, equals - at);
        std::transform(key.begin(), key.end(), key.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        at = equals + 1;
        std::string value;
        if (at < text.size() && text[at] == '"') {
            ++at;
            while (at < text.size() && text[at] != '"') {
                if (text[at] == '\\' && at + 1 < text.size())
                    ++at;
                value += text[at++];
            }
            ++at;  // closing quote
        } else {
            const auto end = text.find(',', at);
            value = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
            at = end == std::string::npos ? text.size() : end;
        }
        parameters[key] = value;
    }
    return parameters;
}

// The registry's own words for an error: {"errors":[{"code":..,"message":..}]}.
std::string registry_error_message(const HttpResponse& response) {
    try {
        const auto body = nlohmann::json::parse(response.body);
        const auto& first = body.at("errors").at(0);
        std::string message = first.value("message", "");
        if (message.empty())
            message = first.value("code", "");
        if (!message.empty())
            return message;
    } catch (const std::exception&) {
    }
    return "HTTP " + std::to_string(response.status);
}

struct FileCloser {
    int fd;
    ~FileCloser() {
        if (fd >= 0)
            ::close(fd);
    }
};

}  // namespace

void RegistryCredentials::set_auth_field(const std::string& auth) {
    std::string decoded;
    try {
        decoded = base64_decode(auth);
    } catch (const std::exception&) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "auth: not base64-encoded \"user:password\"");
    }
    const auto colon = decoded.find(':');
    if (colon == std::string::npos) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "auth: decoded value has no ':' between user and password");
    }
    username = decoded.substr(0, colon);
    password = decoded.substr(colon + 1);
}

std::vector<RegistryEndpoint> registry_endpoints(const config::ImageConfig& config,
                                                 const std::string& registry) {
    std::vector<RegistryEndpoint> endpoints;
    const auto mirrors = config.mirrors.find(registry);
    if (mirrors != config.mirrors.end()) {
        for (const auto& mirror : mirrors->second) {
            RegistryEndpoint endpoint;
            endpoint.mirror = true;
            const auto scheme = mirror.find("://");
            endpoint.host = scheme == std::string::npos ? mirror : mirror.substr(scheme + 3);
            while (!endpoint.host.empty() && endpoint.host.back() == '/')
                endpoint.host.pop_back();
            endpoint.insecure =
                is_loopback(endpoint.host) || listed(config.insecure_registries, endpoint.host);
            endpoint.base_url = scheme == std::string::npos
                                    ? "https://" + endpoint.host
                                    : mirror.substr(0, scheme + 3) + endpoint.host;
            endpoints.push_back(endpoint);
        }
    }
    RegistryEndpoint upstream;
    upstream.host = registry;
    upstream.insecure = is_loopback(registry) || listed(config.insecure_registries, registry);
    upstream.base_url = "https://" + api_host(registry);
    endpoints.push_back(upstream);
    return endpoints;
}

RegistryClient::RegistryClient(RegistryEndpoint endpoint, std::string repository,
                               RegistryCredentials credentials)
    : endpoint_(std::move(endpoint)),
      repository_(std::move(repository)),
      credentials_(std::move(credentials)) {
    if (!credentials_.registry_token.empty()) {
        authorization_ = "Bearer " + credentials_.registry_token;
    }
}

std::string RegistryClient::what() const {
    return "registry " + endpoint_.host;
}

std::string RegistryClient::base_url() {
    std::lock_guard lock(mutex_);
    if (!scheme_base_.empty())
        return scheme_base_;
    if (endpoint_.insecure && endpoint_.base_url.rfind("https://", 0) == 0) {
        std::lock_guard scheme_lock(scheme_mutex);
        const auto found = chosen_base_urls.find(endpoint_.base_url);
        if (found != chosen_base_urls.end())
            return found->second;
    }
    return endpoint_.base_url;
}

std::string RegistryClient::authorization() {
    std::lock_guard lock(mutex_);
    return authorization_;
}

void RegistryClient::authenticate(const std::string& challenge) {
    const auto space = challenge.find(' ');
    std::string scheme = challenge.substr(0, space);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto parameters =
        parse_challenge_parameters(space == std::string::npos ? "" : challenge.substr(space + 1));

    if (scheme == "basic") {
        if (credentials_.username.empty() && credentials_.password.empty()) {
            throw StorageError(ErrorKind::Unauthenticated,
                               what() + ": authentication required to pull " + repository_ +
                                   " (no credentials given)");
        }
        std::lock_guard lock(mutex_);
        authorization_ =
            "Basic " + base64_encode(credentials_.username + ":" + credentials_.password);
        return;
    }
    if (scheme != "bearer") {
        throw StorageError(ErrorKind::Unauthenticated,
                           what() + ": unsupported authentication scheme \"" + scheme + "\"");
    }
    const auto realm = parameters.find("realm");
    if (realm == parameters.end() || realm->second.empty()) {
        throw StorageError(ErrorKind::Unauthenticated,
                           what() + ": bearer challenge without a realm");
    }
    std::string service, scope;
    if (auto found = parameters.find("service"); found != parameters.end())
        service = found->second;
    if (auto found = parameters.find("scope"); found != parameters.end())
        scope = found->second;
    if (scope.empty())
        scope = "repository:" + repository_ + ":pull";

    HttpRequest token_request;
    token_request.verify_tls = !endpoint_.insecure;
    if (!credentials_.identity_token.empty()) {
        // An identity token is an OAuth2 refresh token: exchange it.
        token_request.method = "POST";
        token_request.url = realm->second;
        token_request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
        token_request.body =
            "grant_type=refresh_token&client_id=berth&service=" + url_escape(service) +
            "&scope=" + url_escape(scope) +
            "&refresh_token=" + url_escape(credentials_.identity_token);
    } else {
        token_request.url = realm->second +
                            (realm->second.find('?') == std::string::npos ? "?" : "&") +
                            "service=" + url_escape(service) + "&scope=" + url_escape(scope);
        if (!credentials_.username.empty()) {
            token_request.url += "&account=" + url_escape(credentials_.username);
            token_request.headers.push_back(
                "Authorization: Basic " +
                base64_encode(credentials_.username + ":" + credentials_.password));
        }
    }
    HttpResponse response;
    try {
        response = http_perform(token_request, {}, 1 << 20);
    } catch (const HttpTransportError& error) {
        throw StorageError(ErrorKind::Unavailable,
                           what() + ": token endpoint " + realm->second + ": " + error.what());
    }
    if (response.status == 401 || response.status == 403) {
        throw StorageError(
            credentials_.empty() ? ErrorKind::Unauthenticated : ErrorKind::PermissionDenied,
            what() + ": token endpoint refused " +
                (credentials_.empty() ? "anonymous access" : "the credentials") + " for " +
                repository_ + " (HTTP " + std::to_string(response.status) + ")");
    }
    if (response.status < 200 || response.status >= 300) {
        throw StorageError(ErrorKind::Unavailable, what() + ": token endpoint answered HTTP " +
                                                       std::to_string(response.status));
    }
    std::string token;
    try {
        const auto body = nlohmann::json::parse(response.body);
        token = body.value("token", "");
        if (token.empty())
            token = body.value("access_token", "");
    } catch (const std::exception&) {
    }
    if (token.empty()) {
        throw StorageError(ErrorKind::Unavailable, what() + ": token endpoint sent no token");
    }
    std::lock_guard lock(mutex_);
    authorization_ = "Bearer " + token;
}

HttpResponse RegistryClient::request(const std::string& path,
                                     const std::vector<std::string>& headers,
                                     const std::function<bool(const char*, std::size_t)>& sink,
                                     std::size_t max_body) {
    bool authenticated_once = false;
    while (true) {
        HttpRequest http;
        http.url = base_url() + path;
        http.verify_tls = !endpoint_.insecure;
        http.headers = headers;
        const std::string auth = authorization();
        if (!auth.empty())
            http.headers.push_back("Authorization: " + auth);

        HttpResponse response;
        try {
            response = http_perform(http, sink, max_body);
        } catch (const HttpTransportError& error) {
            std::string fallback;
            {
                std::lock_guard lock(mutex_);
                // An insecure registry that never answered over TLS may speak
                // plain HTTP: try that once and remember it.
                if (endpoint_.insecure && scheme_base_.empty() &&
                    http.url.rfind("https://", 0) == 0) {
                    fallback = "http://" + http.url.substr(8, http.url.size() - 8 - path.size());
                    scheme_base_ = fallback;
                }
            }
            if (!fallback.empty()) {
                std::lock_guard scheme_lock(scheme_mutex);
                chosen_base_urls[endpoint_.base_url] = fallback;
                continue;
            }
            throw StorageError(ErrorKind::Unavailable, what() + ": " + error.what());
        }
        {
            std::lock_guard lock(mutex_);
            if (scheme_base_.empty())
                scheme_base_ = http.url.substr(0, http.url.size() - path.size());
        }
        if (response.status == 401 && !authenticated_once) {
            authenticated_once = true;
            const std::string challenge = response.header("www-authenticate");
            if (challenge.empty()) {
                throw StorageError(ErrorKind::Unauthenticated,
                                   what() + ": HTTP 401 without an authentication challenge");
            }
            authenticate(challenge);
            continue;
        }
        return response;
    }
}

FetchedManifest RegistryClient::fetch_manifest(const std::string& reference,
                                               const std::string& accept) {
    const bool by_digest = reference.find(':') != std::string::npos;
    const std::string shown = repository_ + (by_digest ? "@" : ":") + reference;
    const auto response = request("/v2/" + repository_ + "/manifests/" + reference,
                                  {"Accept: " + accept}, {}, 4 << 20);
    if (response.status == 404) {
        throw StorageError(ErrorKind::NotFound,
                           what() + ": " + registry_error_message(response) + " for " + shown);
    }
    if (response.status == 401) {
        throw StorageError(
            credentials_.empty() ? ErrorKind::Unauthenticated : ErrorKind::PermissionDenied,
            what() + ": " +
                (credentials_.empty() ? "authentication required for "
                                      : "credentials rejected for ") +
                shown);
    }
    if (response.status == 403) {
        throw StorageError(
            ErrorKind::PermissionDenied,
            what() + ": access denied to " + shown + ": " + registry_error_message(response));
    }
    if (response.status < 200 || response.status >= 300) {
        throw StorageError(ErrorKind::Unavailable,
                           what() + ": " + registry_error_message(response) + " for " + shown);
    }
    FetchedManifest manifest;
    manifest.media_type = response.header("content-type");
    if (const auto semicolon = manifest.media_type.find(';'); semicolon != std::string::npos) {
        manifest.media_type.resize(semicolon);
    }
    manifest.body = response.body;
    Sha256 hasher;
    hasher.update(manifest.body);
    manifest.digest = hasher.digest();
    if (by_digest && manifest.digest != reference) {
        throw StorageError(ErrorKind::DataLoss, what() + ": manifest for " + shown +
                                                    " does not match its digest (got " +
                                                    manifest.digest + ")");
    }
    return manifest;
}

std::uint64_t blob_bytes_received() {
    return blob_bytes_total.load(std::memory_order_relaxed);
}

void RegistryClient::stream_blob(const std::string& digest, std::int64_t size,
                                 const std::function<bool(const char*, std::size_t)>& consume) {
    const std::string shown = repository_ + "@" + digest;
    Sha256 hasher;
    std::uint64_t received = 0;
    auto sink = [&](const char* data, std::size_t length) {
        received += length;
        blob_bytes_total.fetch_add(length, std::memory_order_relaxed);
        // More bytes than the manifest promised: stop at once rather than
        // fill the disk with whatever the registry is sending.
        if (size >= 0 && received > static_cast<std::uint64_t>(size))
            return false;
        // This runs inside libcurl, which must not be unwound by an
        // exception: any failure ends the transfer instead.
        try {
            hasher.update(data, length);
            return consume(data, length);
        } catch (...) {
            return false;
        }
    };
    HttpResponse response;
    try {
        response = request("/v2/" + repository_ + "/blobs/" + digest, {}, sink, 1 << 20);
    } catch (const StorageError& error) {
        if (size >= 0 && received > static_cast<std::uint64_t>(size)) {
            throw StorageError(ErrorKind::DataLoss, what() + ": blob " + shown +
                                                        " is larger than its " +
                                                        std::to_string(size) + " bytes");
        }
        throw;
    }
    if (response.status == 404) {
        throw StorageError(ErrorKind::NotFound,
                           what() + ": " + registry_error_message(response) + " for blob " + shown);
    }
    if (response.status == 401 || response.status == 403) {
        throw StorageError(ErrorKind::PermissionDenied,
                           what() + ": access denied to blob " + shown);
    }
    if (response.status < 200 || response.status >= 300) {
        throw StorageError(ErrorKind::Unavailable,
                           what() + ": " + registry_error_message(response) + " for blob " + shown);
    }
    if (size >= 0 && received != static_cast<std::uint64_t>(size)) {
        throw StorageError(ErrorKind::DataLoss, what() + ": blob " + shown + " has " +
                                                    std::to_string(received) + " bytes, expected " +
                                                    std::to_string(size));
    }
    const std::string actual = hasher.digest();
    if (actual != digest) {
        throw StorageError(
            ErrorKind::DataLoss,
            what() + ": blob " + shown + " does not match its digest (got " + actual + ")");
    }
}

std::string RegistryClient::fetch_blob(const std::string& digest, std::int64_t size,
                                       std::size_t max_size) {
    if (size < 0 || static_cast<std::uint64_t>(size) > max_size) {
        throw StorageError(ErrorKind::DataLoss,
                           what() + ": blob " + digest + " of " + std::to_string(size) +
                               " bytes is over the limit of " + std::to_string(max_size));
    }
    std::string content;
    content.reserve(static_cast<std::size_t>(size));
    stream_blob(digest, size, [&](const char* data, std::size_t length) {
        content.append(data, length);
        return true;
    });
    return content;
}

void RegistryClient::fetch_blob_to_file(const std::string& digest, std::int64_t size,
                                        const std::filesystem::path& destination) {
    FileCloser file{::open(destination.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    if (file.fd < 0)
        throw io_error("creating " + destination.string(), errno);
    // The sink runs inside libcurl, which must not be unwound by an
    // exception: a write error is kept and reported after the transfer.
    int write_errno = 0;
    auto write_all = [&](const char* data, std::size_t length) {
        while (length > 0) {
            const ssize_t written = ::write(file.fd, data, length);
            if (written < 0) {
                if (errno == EINTR)
                    continue;
                write_errno = errno;
                return false;
            }
            data += written;
            length -= static_cast<std::size_t>(written);
        }
        return true;
    };
    try {
        stream_blob(digest, size, write_all);
    } catch (const StorageError&) {
        if (write_errno != 0)
            throw io_error("writing " + destination.string(), write_errno);
        throw;
    }
}

}  // namespace berth::storage
