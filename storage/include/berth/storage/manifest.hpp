// Image manifests, indexes (manifest lists) and image configs as registries
// serve them (OCI image-spec v1 and Docker image manifest v2 schema 2), parsed
// and validated before anything is fetched on their word.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::storage {

namespace media_types {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciNondistributableLayerTar =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciNondistributableLayerTarGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciNondistributableLayerTarZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerTarGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view kDockerSchema1Manifest =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1SignedManifest =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_types

// The Accept header value for manifest requests: both index types first, so a
// registry serves the multi-platform index when there is one, then both
// single-image manifest types.
const std::string& manifest_accept_header();

struct Platform {
    std::string os;
    std::string architecture;
    std::string variant;

    std::string to_string() const;  // "linux/amd64", "linux/arm/v7"

    bool operator==(const Platform&) const = default;
};

// The platform this binary was built for, as an image index names it.
Platform host_platform();

struct Descriptor {
    std::string media_type;
    std::string digest;
    std::int64_t size = 0;
    std::vector<std::string> urls;
    std::optional<Platform> platform;
    std::map<std::string, std::string> annotations;
};

struct ImageManifest {
    std::string media_type;
    Descriptor config;
    std::vector<Descriptor> layers;
};

struct ManifestIndex {
    std::string media_type;
    std::vector<Descriptor> manifests;
};

class ManifestError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses a manifest or index. `content_type` is the registry's Content-Type
// header; when it is empty or generic (application/json, ...) the body's
// mediaType decides, and without one a "manifests" array means an index and a
// "layers" array a manifest. Throws ManifestError for schema 1 manifests,
// malformed JSON, missing fields, malformed digests, negative sizes, a missing
// config, and layers Berth cannot fetch or unpack (foreign, non-distributable,
// unknown media types).
std::variant<ImageManifest, ManifestIndex> parse_manifest(std::string_view content_type,
                                                          std::string_view body);

// Picks the image manifest for `wanted` from an index. The os and the
// architecture must match; an exact variant is preferred, and for amd64 and
// arm64 (whose default variants are v1 and v8) an entry without a variant is
// accepted. Entries without a platform are the last resort, as containerd
// treats them. Throws ManifestError listing the platforms present when none fits.
const Descriptor& select_platform(const ManifestIndex& index,
                                  const Platform& wanted = host_platform());

enum class Compression { None, Gzip, Zstd };

// The compression of a layer media type; throws ManifestError for a type that
// is not a layer Berth can unpack.
Compression layer_compression(const std::string& media_type);

// What Berth keeps from an image config blob.
struct ImageConfig {
    std::vector<std::string> entrypoint, cmd, env;
    std::string user, working_dir, stop_signal, os, architecture, variant, created, author;
    std::vector<std::string> exposed_ports, volumes;  // the keys of the maps, sorted
    std::map<std::string, std::string> labels;
    std::vector<std::string> diff_ids;

    bool operator==(const ImageConfig&) const = default;
};

// Parses an image config blob (OCI or Docker). Throws ManifestError for
// malformed JSON, fields of the wrong type and a rootfs without at least one
// well-formed diff id.
ImageConfig parse_image_config(std::string_view body);

// Berth's own record of an image config; image_config_from_json(to_json(c)) == c.
nlohmann::json to_json(const ImageConfig& config);
ImageConfig image_config_from_json(const nlohmann::json& json);  // throws ManifestError

// Chain IDs as the OCI image spec defines them: chain[0] = diff_ids[0] and
// chain[i] = sha256(chain[i-1] + " " + diff_ids[i]). They name a layer
// together with everything below it, which is what an unpacked layer is.
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

// "sha256:<lowercase hex>" of `data`.
std::string sha256_digest(std::string_view data);

}  // namespace berth::storage
