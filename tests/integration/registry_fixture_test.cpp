// Proves the registry fixture for image tests works against the real thing:
// a docker-registry filled by skopeo, basic auth, and the Docker-Hub-like
// token proxy with its blob redirects.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "child_process.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

namespace berth::test {
namespace {

const std::string kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// sha256sum rather than a crypto library: the test support links none.
std::string sha256_of(const std::string& bytes) {
    TempDir dir;
    const std::string file = dir.write("bytes", "");
    std::ofstream(file, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    const auto result = run_command("sha256sum " + file);
    return "sha256:" + result.output.substr(0, 64);
}

std::string entry(const std::string& image, const std::string& field) {
    return TestRegistry::images().at(image).at(field).get<std::string>();
}

HttpResponse get_manifest(const std::string& host, const std::string& repository,
                          const std::string& reference,
                          std::map<std::string, std::string> extra = {}) {
    extra["Accept"] = kManifestAccept;
    return http_get(host, "/v2/" + repository + "/manifests/" + reference, extra);
}

// An Authorization value for "user:password", without a base64 library.
std::string basic_authorization(const std::string& credentials) {
    static const char* alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < credentials.size(); i += 3) {
        const unsigned n = (static_cast<unsigned char>(credentials[i]) << 16) |
                           (static_cast<unsigned char>(credentials[i + 1]) << 8) |
                           static_cast<unsigned char>(credentials[i + 2]);
        out += {alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63], alphabet[(n >> 6) & 63],
                alphabet[n & 63]};
    }
    if (i + 1 == credentials.size()) {
        const unsigned n = static_cast<unsigned char>(credentials[i]) << 16;
        out += {alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63], '=', '='};
    } else if (i + 2 == credentials.size()) {
        const unsigned n = (static_cast<unsigned char>(credentials[i]) << 16) |
                           (static_cast<unsigned char>(credentials[i + 1]) << 8);
        out += {alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63], alphabet[(n >> 6) & 63], '='};
    }
    return "Basic " + out;
}

RegistryOptions options(RegistryAuth auth) {
    RegistryOptions result;
    result.auth = auth;
    return result;
}

TEST(RegistryFixture, AnonymousRegistryServesPushedImagesWithReportedDigests) {
    const auto begin = std::chrono::steady_clock::now();
    TestRegistry::images();  // build (or reuse) the images outside the timing below
    const auto built = std::chrono::steady_clock::now();
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push_all();
    const auto pushed = std::chrono::steady_clock::now();
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    std::printf("images ready in %lld ms; registry start + push_all in %lld ms\n",
                static_cast<long long>(duration_cast<milliseconds>(built - begin).count()),
                static_cast<long long>(duration_cast<milliseconds>(pushed - built).count()));

    for (const auto& [image, info] : TestRegistry::images().items()) {
        const auto colon = image.find(':');
        const auto response =
            get_manifest(registry.host(), image.substr(0, colon), image.substr(colon + 1));
        ASSERT_EQ(response.status, 200) << image << "\n" << registry.log();
        EXPECT_EQ(response.header("Docker-Content-Digest"), info.at("manifest")) << image;
        EXPECT_EQ(sha256_of(response.body), info.at("manifest")) << image;
        EXPECT_EQ(response.header("Content-Type"), info.at("media_type")) << image;
    }

    // Each platform of the index is there by digest, and so is its arch layer.
    for (const auto& [platform, info] :
         TestRegistry::images().at("multiarch:1").at("platforms").items()) {
        const auto manifest = get_manifest(registry.host(), "multiarch", info.at("manifest"));
        EXPECT_EQ(manifest.status, 200) << platform;
        const auto arch_layer = http_get(
            registry.host(), "/v2/multiarch/blobs/" + info.at("layers").back().get<std::string>());
        EXPECT_EQ(arch_layer.status, 200) << platform;
    }

    // The zstd and plain layers arrive as they were built (no recompression).
    const auto& zstd = TestRegistry::images().at("busybox:zstd");
    for (const auto& layer : zstd.at("layers")) {
        const auto blob =
            http_get(registry.host(), "/v2/busybox/blobs/" + layer.get<std::string>());
        ASSERT_EQ(blob.status, 200);
        EXPECT_EQ(sha256_of(blob.body), layer.get<std::string>());
    }

    registry.push("busybox:multi", "e2e-test-images/busybox:1.29-2");
    const auto renamed = get_manifest(registry.host(), "e2e-test-images/busybox", "1.29-2");
    EXPECT_EQ(renamed.status, 200);
    EXPECT_EQ(renamed.header("Docker-Content-Digest"), entry("busybox:multi", "manifest"));
}

TEST(RegistryFixture, BasicAuthRejectsMissingAndWrongCredentials) {
    TestRegistry registry(options(RegistryAuth::Basic));
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:user");

    const auto anonymous = http_get(registry.host(), "/v2/");
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(anonymous.header("WWW-Authenticate"), "Basic realm=\"berth-test\"");
    const auto wrong = get_manifest(registry.host(), "busybox", "user",
                                    {{"Authorization", basic_authorization("berth:wrong")}});
    EXPECT_EQ(wrong.status, 401);
    const auto right = get_manifest(registry.host(), "busybox", "user",
                                    {{"Authorization", basic_authorization("berth:s3cret")}});
    EXPECT_EQ(right.status, 200) << registry.log();
    EXPECT_EQ(right.header("Docker-Content-Digest"), entry("busybox:user", "manifest"));
}

TEST(RegistryFixture, BearerModeChallengesIssuesScopedTokensAndRedirectsBlobs) {
    TestRegistry registry(options(RegistryAuth::Bearer));
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    const std::string realm = "http://" + registry.host() + "/token";

    const auto base = http_get(registry.host(), "/v2/");
    EXPECT_EQ(base.status, 401);
    EXPECT_EQ(base.header("WWW-Authenticate"),
              "Bearer realm=\"" + realm + "\",service=\"berth-test\"");

    const auto challenged = get_manifest(registry.host(), "busybox", "multi");
    ASSERT_EQ(challenged.status, 401);
    EXPECT_EQ(
        challenged.header("WWW-Authenticate"),
        "Bearer realm=\"" + realm + "\",service=\"berth-test\",scope=\"repository:busybox:pull\"");

    const std::string token_target = "/token?service=berth-test&scope=repository:busybox:pull";
    EXPECT_EQ(http_get(registry.host(), token_target).status, 401);
    EXPECT_EQ(http_get(registry.host(), token_target,
                       {{"Authorization", basic_authorization("berth:wrong")}})
                  .status,
              401);
    const auto token_response = http_get(registry.host(), token_target,
                                         {{"Authorization", basic_authorization("berth:s3cret")}});
    ASSERT_EQ(token_response.status, 200) << registry.log();
    const auto token_json = nlohmann::json::parse(token_response.body);
    const std::string token = token_json.at("token");
    EXPECT_EQ(token_json.at("access_token"), token);
    EXPECT_EQ(token_json.at("expires_in"), 300);
    const std::map<std::string, std::string> bearer = {{"Authorization", "Bearer " + token}};

    EXPECT_EQ(http_get(registry.host(), "/v2/", bearer).status, 200);
    const auto manifest = get_manifest(registry.host(), "busybox", "multi", bearer);
    ASSERT_EQ(manifest.status, 200) << registry.log();
    EXPECT_EQ(manifest.header("Docker-Content-Digest"), entry("busybox:multi", "manifest"));
    EXPECT_EQ(
        get_manifest(registry.host(), "busybox", "multi", {{"Authorization", "Bearer not-a-token"}})
            .status,
        401);
    // The token is for busybox only.
    const auto other = get_manifest(registry.host(), "evil", "dotdot", bearer);
    EXPECT_EQ(other.status, 401);
    EXPECT_NE(other.header("WWW-Authenticate").find("scope=\"repository:evil:pull\""),
              std::string::npos);

    const std::string layer = TestRegistry::images().at("busybox:multi").at("layers")[0];
    const auto redirect = http_get(registry.host(), "/v2/busybox/blobs/" + layer, bearer);
    ASSERT_EQ(redirect.status, 307);
    const std::string location = redirect.header("Location");
    const std::string prefix = "http://" + registry.host();
    ASSERT_EQ(location.rfind(prefix + "/blobstore/" + layer, 0), 0u) << location;
    // The redirect target needs no token, as with a CDN or S3.
    const auto blob = http_get(registry.host(), location.substr(prefix.size()));
    ASSERT_EQ(blob.status, 200);
    EXPECT_EQ(sha256_of(blob.body), layer);
    EXPECT_EQ(blob.header("Docker-Content-Digest"), layer);
    EXPECT_EQ(registry.count_requests("GET /v2/busybox/blobs/" + layer), 1);
}

TEST(RegistryFixture, CorruptBlobServesSameSizeWrongBytes) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:user");
    const std::string layer = TestRegistry::images().at("busybox:user").at("layers")[0];
    const auto before = http_get(registry.host(), "/v2/busybox/blobs/" + layer);
    ASSERT_EQ(before.status, 200);
    ASSERT_EQ(sha256_of(before.body), layer);

    registry.corrupt_blob(layer);
    const auto after = http_get(registry.host(), "/v2/busybox/blobs/" + layer);
    ASSERT_EQ(after.status, 200);
    EXPECT_EQ(after.body.size(), before.body.size());
    EXPECT_NE(sha256_of(after.body), layer);
    // Still advertised under the right digest: only the client can tell.
    EXPECT_EQ(after.header("Docker-Content-Digest"), layer);
}

TEST(RegistryFixture, CountRequestsCountsAccessLogLines) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:user");
    const std::string get = "GET /v2/busybox/manifests/user";
    const std::string head = "HEAD /v2/busybox/manifests/user";
    // Relative to what skopeo's push already did.
    const int gets = registry.count_requests(get);
    const int heads = registry.count_requests(head);
    get_manifest(registry.host(), "busybox", "user");
    get_manifest(registry.host(), "busybox", "user");
    http_request(registry.host(), "HEAD", "/v2/busybox/manifests/user");
    EXPECT_EQ(registry.count_requests(get), gets + 2);
    EXPECT_EQ(registry.count_requests(head), heads + 1);
    EXPECT_EQ(registry.count_requests("GET /v2/no-such-request"), 0);
}

TEST(RegistryFixture, PushBigPushesRandomLayers) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    const auto big = registry.push_big(5, "bench/big:5");
    EXPECT_EQ(big.at("layers").size(), 5u);
    const auto manifest = get_manifest(registry.host(), "bench/big", "5");
    ASSERT_EQ(manifest.status, 200);
    EXPECT_EQ(manifest.header("Docker-Content-Digest"), big.at("manifest"));
    long long total = 0;
    for (const auto& size : big.at("layer_sizes")) {
        total += size.get<long long>();
    }
    // Random data: gzip cannot make it smaller than the 5 MiB that went in.
    EXPECT_GE(total, 5LL * 1024 * 1024);
}

}  // namespace
}  // namespace berth::test
