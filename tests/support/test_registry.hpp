// A real registry (distribution's docker-registry) on 127.0.0.1 for
// integration tests, optionally behind basic auth or behind a Docker-Hub-like
// token server (tests/fixtures/bearer_proxy.py), filled with the project's own
// test images (tests/fixtures/make_test_images.py). Everything it starts is
// killed and reaped, and its directory removed, when it goes out of scope.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace berth::test {

enum class RegistryAuth { None, Basic, Bearer };

struct RegistryOptions {
    RegistryAuth auth = RegistryAuth::None;
    std::string user = "berth";
    std::string password = "s3cret";
};

class TestRegistry {
public:
    explicit TestRegistry(RegistryOptions options = {});
    ~TestRegistry();
    TestRegistry(const TestRegistry&) = delete;
    TestRegistry& operator=(const TestRegistry&) = delete;

    // Starts on a random free port and waits until GET /v2/ answers (401
    // counts as up in the auth modes). False, with the reason in log(), if
    // it did not come up.
    bool start();

    // "127.0.0.1:PORT" as clients use it: the token proxy's port in Bearer mode.
    std::string host() const;
    // The anonymous registry itself (the same as host() unless Bearer).
    std::string backend_host() const;

    // Pushes an image built by make_test_images.py with skopeo, digests
    // preserved. `as` renames ("e2e-test-images/busybox:1.29-2"). Throws
    // std::runtime_error with skopeo's output on failure.
    void push(const std::string& image, const std::string& as = "");
    // Pushes every image in images(), concurrently.
    void push_all();
    // Builds big:1 with `mib` MiB of random layer data (cached under /tmp per
    // size) and pushes it; returns the builder's JSON entry for it.
    nlohmann::json push_big(int mib, const std::string& as = "big:1");

    // The builder's JSON: image -> {manifest, config, layers, diff_ids, ...}.
    // Built once per process into a directory under /tmp that later
    // processes reuse while the builder script and busybox stay the same.
    static const nlohmann::json& images();
    // The OCI image layout directory the builder made for `image`.
    static std::string layout_directory(const std::string& image);

    // Overwrites a blob's stored bytes (same size, other content) so that
    // the registry serves bytes that do not match the digest.
    void corrupt_blob(const std::string& digest);

    // How many lines of the registry's access log contain `needle`, e.g.
    // "GET /v2/busybox/blobs/sha256:abc". In Bearer mode this is the backing
    // registry's log: requests the proxy refused or redirected are not in it.
    int count_requests(const std::string& needle) const;

    // Registry (and proxy) output plus start-up failures, for test messages.
    std::string log() const;

private:
    bool start_registry();
    bool start_proxy();
    void copy_image(const std::string& layout_dir, const nlohmann::json& entry,
                    const std::string& as);
    std::vector<std::string> skopeo_args(const std::string& layout_dir, const nlohmann::json& entry,
                                         const std::string& as) const;
    std::string blob_data_path(const std::string& digest) const;
    std::string next_log_name();

    RegistryOptions options_;
    TempDir dir_;
    int registry_port_ = 0;
    int proxy_port_ = 0;
    std::string failure_;
    // Declared after dir_ so that they are killed before it is removed.
    std::unique_ptr<ChildProcess> registry_;
    std::unique_ptr<ChildProcess> proxy_;
};

// A minimal HTTP/1.0 client for tests: no redirects, no TLS.
struct HttpResponse {
    int status = 0;                              // 0 when the connection failed
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::string header(const std::string& name) const;
};
HttpResponse http_request(const std::string& host_port, const std::string& method,
                          const std::string& target,
                          const std::map<std::string, std::string>& headers = {});
inline HttpResponse http_get(const std::string& host_port, const std::string& target,
                             const std::map<std::string, std::string>& headers = {}) {
    return http_request(host_port, "GET", target, headers);
}

}  // namespace berth::test
