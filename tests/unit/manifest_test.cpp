// Manifests, indexes and image configs as registries serve them: the shapes
// Docker Hub, registry:2 and OCI-native registries produce, and the errors a
// node operator sees for images Berth cannot run.
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "berth/storage/manifest.hpp"

namespace storage = berth::storage;
namespace mt = berth::storage::media_types;
using nlohmann::json;

namespace {

std::string digest_of(char c) {
    return "sha256:" + std::string(64, c);
}

json descriptor(std::string_view media_type, char digest_char, std::int64_t size) {
    return {{"mediaType", media_type}, {"digest", digest_of(digest_char)}, {"size", size}};
}

json oci_manifest() {
    return {
        {"schemaVersion", 2},
        {"mediaType", mt::kOciManifest},
        {"config", descriptor(mt::kOciConfig, 'c', 1469)},
        {"layers",
         {descriptor(mt::kOciLayerTarGzip, '1', 2479), descriptor(mt::kOciLayerTarZstd, '2', 100),
          descriptor(mt::kOciLayerTar, '3', 0)}},
        {"annotations", {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}}},
    };
}

json docker_manifest() {
    return {
        {"schemaVersion", 2},
        {"mediaType", mt::kDockerManifest},
        {"config", descriptor(mt::kDockerConfig, 'c', 1457)},
        {"layers", {descriptor(mt::kDockerLayerTarGzip, '1', 2221845)}},
    };
}

json platform_entry(char digest_char, std::string os, std::string arch, std::string variant = "",
                    std::string_view media_type = mt::kOciManifest) {
    json entry = descriptor(media_type, digest_char, 500);
    entry["platform"] = {{"os", os}, {"architecture", arch}};
    if (!variant.empty()) {
        entry["platform"]["variant"] = variant;
    }
    return entry;
}

json oci_index(json manifests) {
    return {
        {"schemaVersion", 2}, {"mediaType", mt::kOciIndex}, {"manifests", std::move(manifests)}};
}

std::string error_of(std::string_view content_type, const std::string& body) {
    try {
        storage::parse_manifest(content_type, body);
    } catch (const storage::ManifestError& error) {
        return error.what();
    }
    return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "in: " << (haystack)

TEST(Manifest, AcceptHeaderNamesAllFourTypes) {
    const std::string& accept = storage::manifest_accept_header();
    for (std::string_view type :
         {mt::kOciManifest, mt::kOciIndex, mt::kDockerManifest, mt::kDockerManifestList}) {
        EXPECT_CONTAINS(accept, type);
    }
    // Indexes first: a multi-platform image must be served as its index.
    EXPECT_LT(accept.find(mt::kOciIndex), accept.find(mt::kOciManifest));
    EXPECT_LT(accept.find(mt::kDockerManifestList), accept.find(mt::kDockerManifest));
}

TEST(Manifest, ParsesOciManifest) {
    const auto parsed = storage::parse_manifest(mt::kOciManifest, oci_manifest().dump());
    const auto& manifest = std::get<storage::ImageManifest>(parsed);
    EXPECT_EQ(manifest.media_type, mt::kOciManifest);
    EXPECT_EQ(manifest.config.media_type, mt::kOciConfig);
    EXPECT_EQ(manifest.config.digest, digest_of('c'));
    EXPECT_EQ(manifest.config.size, 1469);
    ASSERT_EQ(manifest.layers.size(), 3u);
    EXPECT_EQ(manifest.layers[0].digest, digest_of('1'));
    EXPECT_EQ(manifest.layers[0].size, 2479);
    EXPECT_EQ(storage::layer_compression(manifest.layers[0].media_type),
              storage::Compression::Gzip);
    EXPECT_EQ(storage::layer_compression(manifest.layers[1].media_type),
              storage::Compression::Zstd);
    EXPECT_EQ(storage::layer_compression(manifest.layers[2].media_type),
              storage::Compression::None);
    EXPECT_EQ(manifest.layers[2].size, 0);
}

TEST(Manifest, ParsesDockerManifestWithParametersInContentType) {
    const auto parsed = storage::parse_manifest(
        "Application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
        docker_manifest().dump());
    const auto& manifest = std::get<storage::ImageManifest>(parsed);
    EXPECT_EQ(manifest.media_type, mt::kDockerManifest);
    EXPECT_EQ(manifest.config.media_type, mt::kDockerConfig);
    ASSERT_EQ(manifest.layers.size(), 1u);
    EXPECT_EQ(manifest.layers[0].size, 2221845);
    EXPECT_EQ(storage::layer_compression(manifest.layers[0].media_type),
              storage::Compression::Gzip);
}

TEST(Manifest, ParsesOciIndexWithAnnotationsAndUrls) {
    json entry = platform_entry('a', "linux", "amd64");
    entry["annotations"] = {{"io.example", "yes"}};
    entry["urls"] = {"https://mirror.example.com/blob"};
    const json body = oci_index({entry, platform_entry('b', "linux", "arm", "v7")});
    const auto parsed = storage::parse_manifest(mt::kOciIndex, body.dump());
    const auto& index = std::get<storage::ManifestIndex>(parsed);
    EXPECT_EQ(index.media_type, mt::kOciIndex);
    ASSERT_EQ(index.manifests.size(), 2u);
    EXPECT_EQ(index.manifests[0].annotations.at("io.example"), "yes");
    EXPECT_EQ(index.manifests[0].urls, std::vector<std::string>{"https://mirror.example.com/blob"});
    ASSERT_TRUE(index.manifests[1].platform.has_value());
    EXPECT_EQ(index.manifests[1].platform->to_string(), "linux/arm/v7");
}

TEST(Manifest, ParsesDockerManifestList) {
    const json body = {
        {"schemaVersion", 2},
        {"mediaType", mt::kDockerManifestList},
        {"manifests",
         {platform_entry('a', "linux", "amd64", "", mt::kDockerManifest),
          platform_entry('b', "linux", "arm64", "v8", mt::kDockerManifest)}},
    };
    const auto parsed = storage::parse_manifest(mt::kDockerManifestList, body.dump());
    const auto& index = std::get<storage::ManifestIndex>(parsed);
    EXPECT_EQ(index.media_type, mt::kDockerManifestList);
    ASSERT_EQ(index.manifests.size(), 2u);
    EXPECT_EQ(index.manifests[1].platform->variant, "v8");
}

TEST(Manifest, MissingOrGenericContentTypeUsesTheBody) {
    for (std::string_view content_type :
         {"", "application/json", "text/plain; charset=utf-8", "application/octet-stream"}) {
        const auto with_type = storage::parse_manifest(content_type, docker_manifest().dump());
        EXPECT_EQ(std::get<storage::ImageManifest>(with_type).media_type, mt::kDockerManifest);

        json manifest_without_type = oci_manifest();
        manifest_without_type.erase("mediaType");
        const auto manifest = storage::parse_manifest(content_type, manifest_without_type.dump());
        EXPECT_EQ(std::get<storage::ImageManifest>(manifest).media_type, mt::kOciManifest);

        json index_without_type = oci_index({platform_entry('a', "linux", "amd64")});
        index_without_type.erase("mediaType");
        const auto index = storage::parse_manifest(content_type, index_without_type.dump());
        EXPECT_EQ(std::get<storage::ManifestIndex>(index).media_type, mt::kOciIndex);
    }
    json neither = oci_manifest();
    neither.erase("mediaType");
    neither.erase("layers");
    EXPECT_CONTAINS(error_of("", neither.dump()), "cannot tell an image manifest from an index");
}

TEST(Manifest, ContentTypeAndBodyMustAgree) {
    EXPECT_CONTAINS(error_of(mt::kOciIndex, oci_manifest().dump()), "disagrees with its mediaType");
    EXPECT_CONTAINS(error_of("application/vnd.example.thing", oci_manifest().dump()),
                    "unsupported manifest media type");
    json odd = oci_manifest();
    odd["mediaType"] = "application/vnd.example.thing";
    EXPECT_CONTAINS(error_of("", odd.dump()), "unsupported manifest media type");
}

TEST(Manifest, RejectsSchema1) {
    const std::string expected =
        "schema 1 manifests are not supported; push the image again with a current client";
    const json schema1 = {{"schemaVersion", 1},
                          {"name", "library/busybox"},
                          {"tag", "latest"},
                          {"fsLayers", {{{"blobSum", digest_of('1')}}}}};
    EXPECT_CONTAINS(error_of(mt::kDockerSchema1SignedManifest, schema1.dump()), expected);
    EXPECT_CONTAINS(error_of(mt::kDockerSchema1Manifest, schema1.dump()), expected);
    EXPECT_CONTAINS(error_of("application/json", schema1.dump()), expected);
    EXPECT_CONTAINS(error_of("", schema1.dump()), expected);
}

TEST(Manifest, RejectsForeignAndUnknownLayers) {
    json foreign = docker_manifest();
    foreign["layers"].push_back(descriptor(mt::kDockerForeignLayer, '2', 10));
    foreign["layers"][1]["urls"] = {"https://go.microsoft.com/fwlink/?linkid=1"};
    const std::string foreign_error = error_of(mt::kDockerManifest, foreign.dump());
    EXPECT_CONTAINS(foreign_error, "layers[1]");
    EXPECT_CONTAINS(foreign_error, "foreign/non-distributable");

    json nondistributable = oci_manifest();
    nondistributable["layers"][0]["mediaType"] = mt::kOciNondistributableLayerTarGzip;
    EXPECT_CONTAINS(error_of(mt::kOciManifest, nondistributable.dump()),
                    "foreign/non-distributable");

    json unknown = oci_manifest();
    unknown["layers"][0]["mediaType"] = "application/vnd.example.layer.v1.tar+lz4";
    EXPECT_CONTAINS(error_of(mt::kOciManifest, unknown.dump()), "unsupported layer media type");
}

TEST(Manifest, RejectsArtifacts) {
    json helm = oci_manifest();
    helm["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json";
    EXPECT_CONTAINS(error_of(mt::kOciManifest, helm.dump()), "not a container image");
}

struct BrokenManifest {
    std::string body;
    std::string message;
};

TEST(Manifest, MalformedJsonAndMissingFields) {
    const auto without = [](std::string_view key) {
        json manifest = oci_manifest();
        manifest.erase(std::string(key));
        return manifest.dump();
    };
    const auto with = [](const json::json_pointer& pointer, json value) {
        json manifest = oci_manifest();
        manifest[pointer] = std::move(value);
        return manifest.dump();
    };
    const auto without_at = [](const json::json_pointer& pointer, std::string_view key) {
        json manifest = oci_manifest();
        manifest[pointer].erase(std::string(key));
        return manifest.dump();
    };
    const BrokenManifest cases[] = {
        {"{\"schemaVersion\": 2,", "not valid JSON"},
        {"", "not valid JSON"},
        {"[1, 2]", "not a JSON object"},
        {without("schemaVersion"), "no schemaVersion"},
        {with(json::json_pointer("/schemaVersion"), 3), "schemaVersion must be 2"},
        {without("config"), "image manifest has no config"},
        {without("layers"), "image manifest has no layers"},
        {with(json::json_pointer("/layers"), json::object()), "layers must be an array"},
        {without_at(json::json_pointer("/config"), "digest"), "config.digest is missing"},
        {without_at(json::json_pointer("/layers/0"), "size"), "layers[0].size is missing"},
        {without_at(json::json_pointer("/layers/1"), "mediaType"),
         "layers[1].mediaType is missing"},
        {with(json::json_pointer("/layers/0/size"), -1), "layers[0].size must not be negative"},
        {with(json::json_pointer("/layers/0/size"), 1.5), "layers[0].size must be an integer"},
        {with(json::json_pointer("/layers/0/size"), "12"), "layers[0].size must be an integer"},
        {with(json::json_pointer("/layers/0/size"), 18446744073709551615ull), "too large"},
        {with(json::json_pointer("/layers/0/digest"), "sha256:abc"), "is not a valid digest"},
        {with(json::json_pointer("/layers/0/digest"), "md5:" + std::string(32, 'a')),
         "is not a valid digest"},
        {with(json::json_pointer("/config/digest"), 42), "config.digest must be a string"},
        {with(json::json_pointer("/layers/0/urls"), "https://x"),
         "layers[0].urls must be an array of strings"},
        {with(json::json_pointer("/layers/0/annotations"), json{{"a", 1}}),
         "layers[0].annotations must be an object of strings"},
        {with(json::json_pointer("/mediaType"), 5), "manifest.mediaType must be a string"},
    };
    for (const BrokenManifest& broken : cases) {
        EXPECT_CONTAINS(error_of(mt::kOciManifest, broken.body), broken.message);
    }

    json index = oci_index({platform_entry('a', "linux", "amd64")});
    index["manifests"][0]["platform"].erase("architecture");
    EXPECT_CONTAINS(error_of(mt::kOciIndex, index.dump()),
                    "manifests[0].platform.architecture is missing");
    index.erase("manifests");
    EXPECT_CONTAINS(error_of(mt::kOciIndex, index.dump()), "image index has no manifests");
}

struct PlatformCase {
    std::string name;
    std::vector<json> entries;
    storage::Platform wanted;
    char expected;  // digest character of the chosen entry, or 0 when none fits
    std::string message;
};

TEST(Manifest, SelectsPlatform) {
    const json amd64 = platform_entry('a', "linux", "amd64");
    const json amd64_v3 = platform_entry('3', "linux", "amd64", "v3");
    const json arm_v6 = platform_entry('6', "linux", "arm", "v6");
    const json arm_v7 = platform_entry('7', "linux", "arm", "v7");
    const json arm64 = platform_entry('b', "linux", "arm64");
    const json arm64_v8 = platform_entry('8', "linux", "arm64", "v8");
    const json windows = platform_entry('e', "windows", "amd64");
    const json s390x = platform_entry('5', "linux", "s390x");
    const json attestation = platform_entry('4', "unknown", "unknown");
    json no_platform = descriptor(mt::kOciManifest, '0', 10);
    json nested_index = descriptor(mt::kOciIndex, '9', 10);

    const PlatformCase cases[] = {
        {"amd64 without variant", {windows, arm64_v8, amd64}, {"linux", "amd64", ""}, 'a', ""},
        {"amd64 wanted v2 takes the baseline",
         {amd64_v3, amd64},
         {"linux", "amd64", "v2"},
         'a',
         ""},
        {"amd64 exact variant wins", {amd64, amd64_v3}, {"linux", "amd64", "v3"}, '3', ""},
        {"amd64 never takes a higher level",
         {amd64_v3},
         {"linux", "amd64", ""},
         0,
         "it has linux/amd64/v3"},
        {"arm/v7 exact", {arm_v6, arm_v7, amd64}, {"linux", "arm", "v7"}, '7', ""},
        {"arm/v7 does not take v6 or plain arm",
         {arm_v6, platform_entry('2', "linux", "arm")},
         {"linux", "arm", "v7"},
         0,
         "it has linux/arm/v6, linux/arm"},
        {"arm64/v8 prefers the exact entry", {arm64, arm64_v8}, {"linux", "arm64", "v8"}, '8', ""},
        {"arm64/v8 accepts an entry without variant",
         {amd64, arm64},
         {"linux", "arm64", "v8"},
         'b',
         ""},
        {"arm64 without variant takes v8", {amd64, arm64_v8}, {"linux", "arm64", ""}, '8', ""},
        {"aliases are normalised", {amd64, arm64}, {"linux", "aarch64", ""}, 'b', ""},
        {"first of equals wins",
         {amd64, platform_entry('f', "linux", "amd64")},
         {"linux", "amd64", ""},
         'a',
         ""},
        {"platformless entry is the last resort",
         {no_platform, amd64},
         {"linux", "amd64", ""},
         'a',
         ""},
        {"platformless entry when nothing else fits",
         {s390x, no_platform},
         {"linux", "amd64", ""},
         '0',
         ""},
        {"nested indexes and attestations are skipped",
         {nested_index, attestation, s390x},
         {"linux", "amd64", ""},
         0,
         "it has unknown/unknown, linux/s390x"},
        {"nothing fits lists the platforms",
         {windows, arm_v7, arm64_v8, s390x},
         {"linux", "amd64", ""},
         0,
         "no image for linux/amd64 in the image index; it has windows/amd64, linux/arm/v7, "
         "linux/arm64/v8, linux/s390x"},
        {"empty index", {}, {"linux", "amd64", ""}, 0, "it lists no platforms"},
    };
    for (const PlatformCase& test : cases) {
        SCOPED_TRACE(test.name);
        const auto parsed = storage::parse_manifest(mt::kOciIndex, oci_index(test.entries).dump());
        const auto& index = std::get<storage::ManifestIndex>(parsed);
        if (test.expected != 0) {
            EXPECT_EQ(storage::select_platform(index, test.wanted).digest,
                      digest_of(test.expected));
        } else {
            try {
                const auto& chosen = storage::select_platform(index, test.wanted);
                ADD_FAILURE() << "chose " << chosen.digest;
            } catch (const storage::ManifestError& error) {
                EXPECT_CONTAINS(error.what(), test.message);
            }
        }
    }
}

TEST(Manifest, HostPlatformIsLinux) {
    const storage::Platform host = storage::host_platform();
    EXPECT_EQ(host.os, "linux");
#if defined(__x86_64__)
    EXPECT_EQ(host.to_string(), "linux/amd64");
#elif defined(__aarch64__)
    EXPECT_EQ(host.to_string(), "linux/arm64/v8");
#endif
    const auto parsed = storage::parse_manifest(
        mt::kOciIndex,
        oci_index({platform_entry('1', host.os, host.architecture, host.variant)}).dump());
    EXPECT_EQ(storage::select_platform(std::get<storage::ManifestIndex>(parsed)).digest,
              digest_of('1'));
}

TEST(Manifest, LayerCompression) {
    using storage::Compression;
    EXPECT_EQ(storage::layer_compression(std::string(mt::kOciLayerTar)), Compression::None);
    EXPECT_EQ(storage::layer_compression(std::string(mt::kOciLayerTarGzip)), Compression::Gzip);
    EXPECT_EQ(storage::layer_compression(std::string(mt::kOciLayerTarZstd)), Compression::Zstd);
    EXPECT_EQ(storage::layer_compression(std::string(mt::kDockerLayerTarGzip)), Compression::Gzip);
    EXPECT_THROW(storage::layer_compression(std::string(mt::kOciConfig)), storage::ManifestError);
}

const char* const kFullConfig = R"({
  "architecture": "arm",
  "variant": "v7",
  "os": "linux",
  "created": "2024-05-01T10:00:00.123456789Z",
  "author": "Berth Tests <tests@example.com>",
  "config": {
    "User": "1000:1000",
    "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
    "Env": ["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "Volumes": {"/var/cache": {}, "/data": {}},
    "WorkingDir": "/srv",
    "Labels": {"org.opencontainers.image.title": "web", "maintainer": "someone"},
    "StopSignal": "SIGQUIT",
    "ArgsEscaped": true
  },
  "rootfs": {
    "type": "layers",
    "diff_ids": [
      "sha256:1111111111111111111111111111111111111111111111111111111111111111",
      "sha256:2222222222222222222222222222222222222222222222222222222222222222"
    ]
  },
  "history": [{"created_by": "ADD rootfs.tar /"}]
})";

TEST(ImageConfig, ParsesEveryField) {
    const storage::ImageConfig config = storage::parse_image_config(kFullConfig);
    EXPECT_EQ(config.architecture, "arm");
    EXPECT_EQ(config.variant, "v7");
    EXPECT_EQ(config.os, "linux");
    EXPECT_EQ(config.created, "2024-05-01T10:00:00.123456789Z");
    EXPECT_EQ(config.author, "Berth Tests <tests@example.com>");
    EXPECT_EQ(config.user, "1000:1000");
    EXPECT_EQ(config.exposed_ports, (std::vector<std::string>{"53/udp", "8080/tcp"}));
    EXPECT_EQ(config.env,
              (std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8"}));
    EXPECT_EQ(config.entrypoint, std::vector<std::string>{"/docker-entrypoint.sh"});
    EXPECT_EQ(config.cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
    EXPECT_EQ(config.volumes, (std::vector<std::string>{"/data", "/var/cache"}));
    EXPECT_EQ(config.working_dir, "/srv");
    EXPECT_EQ(config.labels.size(), 2u);
    EXPECT_EQ(config.labels.at("maintainer"), "someone");
    EXPECT_EQ(config.stop_signal, "SIGQUIT");
    EXPECT_EQ(config.diff_ids, (std::vector<std::string>{digest_of('1'), digest_of('2')}));
}

TEST(ImageConfig, RoundTripsThroughBerthsRecord) {
    const storage::ImageConfig config = storage::parse_image_config(kFullConfig);
    const json record = storage::to_json(config);
    EXPECT_EQ(storage::image_config_from_json(record), config);
    // Through text as well, as it is stored on disk.
    EXPECT_EQ(storage::image_config_from_json(json::parse(record.dump())), config);

    json broken = record;
    broken["diff_ids"] = json::array();
    EXPECT_THROW(storage::image_config_from_json(broken), storage::ManifestError);
    broken = record;
    broken["user"] = 5;
    EXPECT_THROW(storage::image_config_from_json(broken), storage::ManifestError);
}

TEST(ImageConfig, NullAndMissingSettingsAreEmpty) {
    const storage::ImageConfig config = storage::parse_image_config(R"({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": null, "Entrypoint": null, "Env": null, "Labels": null},
        "rootfs": {"type": "layers", "diff_ids": [")" + digest_of('a') +
                                                                    R"("]}})");
    EXPECT_TRUE(config.cmd.empty());
    EXPECT_TRUE(config.entrypoint.empty());
    EXPECT_TRUE(config.labels.empty());
    EXPECT_TRUE(config.exposed_ports.empty());
    EXPECT_EQ(config.diff_ids.size(), 1u);

    const storage::ImageConfig minimal = storage::parse_image_config(
        R"({"rootfs": {"type": "layers", "diff_ids": [")" + digest_of('a') + R"("]}})");
    EXPECT_TRUE(minimal.os.empty());
}

TEST(ImageConfig, RejectsMalformedConfigs) {
    const std::string good_rootfs =
        R"("rootfs": {"type": "layers", "diff_ids": [")" + digest_of('a') + R"("]})";
    const std::pair<std::string, std::string> cases[] = {
        {"not json", "not valid JSON"},
        {R"({"os": "linux"})", "image config has no rootfs"},
        {R"({"rootfs": {"type": "layers", "diff_ids": []}})", "at least one layer"},
        {R"({"rootfs": {"type": "layers"}})", "at least one layer"},
        {R"({"rootfs": {"type": "layers", "diff_ids": ["sha256:xyz"]}})",
         "rootfs.diff_ids[0] \"sha256:xyz\" is not a valid digest"},
        {R"({"rootfs": {"type": "layers", "diff_ids": [1]}})", "must be an array of strings"},
        {R"({"rootfs": {"type": "tarball", "diff_ids": []}})", "rootfs.type must be \"layers\""},
        {R"({"config": {"Cmd": "sh"}, )" + good_rootfs + "}", "config.Cmd must be an array"},
        {R"({"config": {"User": 0}, )" + good_rootfs + "}", "config.User must be a string"},
        {R"({"config": {"Labels": {"a": 1}}, )" + good_rootfs + "}",
         "config.Labels must be an object of strings"},
        {R"({"config": {"ExposedPorts": ["80/tcp"]}, )" + good_rootfs + "}",
         "config.ExposedPorts must be an object"},
        {R"({"os": 7, )" + good_rootfs + "}", "os must be a string"},
    };
    for (const auto& [body, message] : cases) {
        try {
            storage::parse_image_config(body);
            ADD_FAILURE() << "accepted " << body;
        } catch (const storage::ManifestError& error) {
            EXPECT_CONTAINS(error.what(), message);
        }
    }
}

TEST(ChainIds, FollowTheOciDefinition) {
    EXPECT_TRUE(storage::chain_ids({}).empty());
    // Expected values from `printf '%s %s' <parent> <diff_id> | sha256sum`.
    const std::vector<std::string> chain =
        storage::chain_ids({digest_of('a'), digest_of('b'), digest_of('c')});
    ASSERT_EQ(chain.size(), 3u);
    EXPECT_EQ(chain[0], digest_of('a'));
    EXPECT_EQ(chain[1], "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
    EXPECT_EQ(chain[2], "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588");
}

TEST(Sha256Digest, KnownVectors) {
    EXPECT_EQ(storage::sha256_digest(""),
              "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(storage::sha256_digest("abc"),
              "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
