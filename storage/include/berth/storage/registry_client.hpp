// A client for one repository on one registry endpoint, speaking the
// distribution v2 / OCI distribution API: manifests by tag or digest, blobs
// streamed to disk and verified, and the registry's authentication dance
// (anonymous, basic, bearer tokens from a WWW-Authenticate challenge).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "berth/config/config.hpp"

namespace berth::storage {

struct HttpResponse;

// Credentials as the CRI AuthConfig carries them. Never logged.
struct RegistryCredentials {
    std::string username;
    std::string password;
    std::string identity_token;  // an OAuth2 refresh token for the token endpoint
    std::string registry_token;  // a bearer token to send as is

    // Fills username/password from CRI's `auth` field ("base64(user:pass)");
    // throws StorageError(InvalidArgument) when it is not that.
    void set_auth_field(const std::string& auth);
    bool empty() const {
        return username.empty() && password.empty() && identity_token.empty() &&
               registry_token.empty();
    }
};

struct RegistryEndpoint {
    std::string host;      // what errors name: "127.0.0.1:5000", "docker.io"
    std::string base_url;  // "http://127.0.0.1:5000", "https://registry-1.docker.io"
    bool mirror = false;
    // Listed as insecure: TLS certificates are not verified, and plain HTTP
    // is used when TLS does not answer.
    bool insecure = false;
};

// Where to fetch `registry`'s content from: the configured mirrors in order,
// then the registry itself. Loopback registries and those listed in
// `insecure_registries` are insecure.
std::vector<RegistryEndpoint> registry_endpoints(const config::ImageConfig& config,
                                                 const std::string& registry);

// Blob bytes received from registries by this process so far (the
// berth_image_pull_bytes_total metric).
std::uint64_t blob_bytes_received();

struct FetchedManifest {
    std::string media_type;  // the Content-Type the registry sent
    std::string body;
    std::string digest;  // sha256 of the body, as computed here
};

class RegistryClient {
public:
    RegistryClient(RegistryEndpoint endpoint, std::string repository,
                   RegistryCredentials credentials);

    // `reference` is a tag or a digest. A digest reference is verified
    // against the body. Errors: StorageError (NotFound, Unauthenticated,
    // PermissionDenied, Unavailable, DataLoss) with a message naming the
    // registry and the repository.
    FetchedManifest fetch_manifest(const std::string& reference, const std::string& accept);

    // A small blob (an image config) into memory, verified.
    std::string fetch_blob(const std::string& digest, std::int64_t size,
                           std::size_t max_size = 16 << 20);

    // A blob streamed into `destination` (created, truncated), verified for
    // size and digest as it arrives. Nothing is kept in memory but a buffer.
    void fetch_blob_to_file(const std::string& digest, std::int64_t size,
                            const std::filesystem::path& destination);

    const RegistryEndpoint& endpoint() const { return endpoint_; }
    const std::string& repository() const { return repository_; }

private:
    HttpResponse request(const std::string& path, const std::vector<std::string>& headers,
                         const std::function<bool(const char*, std::size_t)>& sink,
                         std::size_t max_body);
    void stream_blob(const std::string& digest, std::int64_t size,
                     const std::function<bool(const char*, std::size_t)>& consume);
    std::string authorization();
    void authenticate(const std::string& challenge);
    std::string base_url();
    std::string what() const;  // "registry HOST: REPOSITORY"

    RegistryEndpoint endpoint_;
    std::string repository_;
    RegistryCredentials credentials_;
    std::mutex mutex_;
    std::string authorization_;  // the header value that worked last
    std::string scheme_base_;    // base URL after an insecure endpoint chose http or https
};

}  // namespace berth::storage
