#include "berth/storage/manifest.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

#include "berth/storage/reference.hpp"

namespace berth::storage {

namespace mt = media_types;
using nlohmann::json;

namespace {

std::string lowercase(std::string_view text) {
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return result;
}

std::string in_quotes(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

// "Type/Subtype; charset=utf-8" → "type/subtype": parameters and case carry no
// meaning for choosing a parser.
std::string bare_media_type(std::string_view content_type) {
    std::string_view type = content_type.substr(0, content_type.find(';'));
    const auto not_space = [](char c) { return c != ' ' && c != '\t'; };
    const auto first = std::find_if(type.begin(), type.end(), not_space);
    const auto last = std::find_if(type.rbegin(), type.rend(), not_space).base();
    return first < last ? lowercase(std::string_view(&*first, last - first)) : std::string();
}

bool is_manifest_type(std::string_view type) {
    return type == mt::kOciManifest || type == mt::kDockerManifest;
}

bool is_index_type(std::string_view type) {
    return type == mt::kOciIndex || type == mt::kDockerManifestList;
}

bool is_schema1_type(std::string_view type) {
    return type == mt::kDockerSchema1Manifest || type == mt::kDockerSchema1SignedManifest;
}

// Types some registries (and static file servers acting as one) send when they
// do not know better; the body has to decide then.
bool is_generic_type(std::string_view type) {
    return type.empty() || type == "application/json" || type == "text/plain" ||
           type == "application/octet-stream" || type == "binary/octet-stream";
}

bool is_foreign_layer_type(std::string_view type) {
    return type == mt::kDockerForeignLayer || type == mt::kOciNondistributableLayerTar ||
           type == mt::kOciNondistributableLayerTarGzip ||
           type == mt::kOciNondistributableLayerTarZstd;
}

[[noreturn]] void schema1_unsupported() {
    throw ManifestError(
        "image manifest is Docker v2 schema 1: schema 1 manifests are not supported; push the "
        "image again with a current client");
}

// The member `key` of `object`, or nullptr when it is absent or null (Docker
// writes "Cmd": null and friends for unset fields).
const json* member(const json& object, std::string_view key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

std::string field_name(std::string_view context, std::string_view key) {
    return context.empty() ? std::string(key) : std::string(context) + "." + std::string(key);
}

std::string optional_string(const json& object, std::string_view key, std::string_view context) {
    const json* value = member(object, key);
    if (value == nullptr) {
        return "";
    }
    if (!value->is_string()) {
        throw ManifestError(field_name(context, key) + " must be a string");
    }
    return value->get<std::string>();
}

std::string required_string(const json& object, std::string_view key, std::string_view context) {
    if (member(object, key) == nullptr) {
        throw ManifestError(field_name(context, key) + " is missing");
    }
    return optional_string(object, key, context);
}

std::vector<std::string> string_array(const json& object, std::string_view key,
                                      std::string_view context) {
    const json* value = member(object, key);
    if (value == nullptr) {
        return {};
    }
    const auto is_string = [](const json& item) { return item.is_string(); };
    if (!value->is_array() || !std::all_of(value->begin(), value->end(), is_string)) {
        throw ManifestError(field_name(context, key) + " must be an array of strings");
    }
    return value->get<std::vector<std::string>>();
}

std::map<std::string, std::string> string_map(const json& object, std::string_view key,
                                              std::string_view context) {
    const json* value = member(object, key);
    if (value == nullptr) {
        return {};
    }
    const auto is_string = [](const json& item) { return item.is_string(); };
    if (!value->is_object() || !std::all_of(value->begin(), value->end(), is_string)) {
        throw ManifestError(field_name(context, key) + " must be an object of strings");
    }
    return value->get<std::map<std::string, std::string>>();
}

// The keys of a set written as a map to empty objects ({"80/tcp": {}}).
std::vector<std::string> object_keys(const json& object, std::string_view key,
                                     std::string_view context) {
    const json* value = member(object, key);
    if (value == nullptr) {
        return {};
    }
    if (!value->is_object()) {
        throw ManifestError(field_name(context, key) + " must be an object");
    }
    std::vector<std::string> keys;
    for (const auto& item : value->items()) {
        keys.push_back(item.key());
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

json parse_json_object(std::string_view body, std::string_view what) {
    json document = json::parse(body.begin(), body.end(), nullptr, false);
    if (document.is_discarded()) {
        throw ManifestError(std::string(what) + " is not valid JSON");
    }
    if (!document.is_object()) {
        throw ManifestError(std::string(what) + " is not a JSON object");
    }
    return document;
}

void check_digest(const std::string& digest, std::string_view field) {
    if (!is_supported_digest(digest)) {
        throw ManifestError(std::string(field) + " " + in_quotes(digest) +
                            " is not a valid digest (sha256:<64 hex> or sha512:<128 hex>)");
    }
}

Platform parse_platform(const json& value, std::string_view context) {
    if (!value.is_object()) {
        throw ManifestError(std::string(context) + " must be an object");
    }
    Platform platform;
    platform.os = required_string(value, "os", context);
    platform.architecture = required_string(value, "architecture", context);
    platform.variant = optional_string(value, "variant", context);
    return platform;
}

Descriptor parse_descriptor(const json& value, const std::string& context) {
    if (!value.is_object()) {
        throw ManifestError(context + " must be an object");
    }
    Descriptor descriptor;
    descriptor.media_type = required_string(value, "mediaType", context);
    descriptor.digest = required_string(value, "digest", context);
    check_digest(descriptor.digest, context + ".digest");

    const json* size = member(value, "size");
    if (size == nullptr) {
        throw ManifestError(context + ".size is missing");
    }
    if (!size->is_number_integer()) {
        throw ManifestError(context + ".size must be an integer");
    }
    if (size->is_number_unsigned() &&
        size->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw ManifestError(context + ".size is too large");
    }
    descriptor.size = size->get<std::int64_t>();
    if (descriptor.size < 0) {
        throw ManifestError(context + ".size must not be negative");
    }

    descriptor.urls = string_array(value, "urls", context);
    if (const json* platform = member(value, "platform")) {
        descriptor.platform = parse_platform(*platform, context + ".platform");
    }
    descriptor.annotations = string_map(value, "annotations", context);
    return descriptor;
}

const json& required_array(const json& object, std::string_view key, std::string_view what) {
    const json* value = member(object, key);
    if (value == nullptr) {
        throw ManifestError(std::string(what) + " has no " + std::string(key));
    }
    if (!value->is_array()) {
        throw ManifestError(std::string(what) + " " + std::string(key) + " must be an array");
    }
    return *value;
}

ImageManifest parse_image_manifest(const json& document, std::string media_type) {
    ImageManifest manifest;
    manifest.media_type = std::move(media_type);

    const json* config = member(document, "config");
    if (config == nullptr) {
        throw ManifestError("image manifest has no config");
    }
    manifest.config = parse_descriptor(*config, "config");
    if (manifest.config.media_type != mt::kOciConfig &&
        manifest.config.media_type != mt::kDockerConfig) {
        // Artifacts (Helm charts, signatures, SBOMs) use the manifest format
        // with their own config type; running one as a container cannot work.
        throw ManifestError("not a container image: config media type " +
                            in_quotes(manifest.config.media_type) + " is not " +
                            std::string(mt::kOciConfig) + " or " + std::string(mt::kDockerConfig));
    }

    const json& layers = required_array(document, "layers", "image manifest");
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const std::string context = "layers[" + std::to_string(i) + "]";
        Descriptor layer = parse_descriptor(layers[i], context);
        if (is_foreign_layer_type(layer.media_type)) {
            // These point at URLs outside the registry (Windows base layers);
            // fetching from arbitrary hosts is not something a node should do.
            throw ManifestError(context + " (" + layer.digest +
                                ") is a foreign/non-distributable layer of type " +
                                in_quotes(layer.media_type) + ", which Berth does not pull");
        }
        layer_compression(layer.media_type);  // throws for types Berth cannot unpack
        manifest.layers.push_back(std::move(layer));
    }
    return manifest;
}

ManifestIndex parse_index(const json& document, std::string media_type) {
    ManifestIndex index;
    index.media_type = std::move(media_type);
    const json& manifests = required_array(document, "manifests", "image index");
    for (std::size_t i = 0; i < manifests.size(); ++i) {
        index.manifests.push_back(
            parse_descriptor(manifests[i], "manifests[" + std::to_string(i) + "]"));
    }
    return index;
}

// Aliases that uname, Debian and old images use for the names in the OCI
// image spec's list, so that "aarch64" finds "arm64".
Platform normalized(const Platform& platform) {
    Platform result{lowercase(platform.os), lowercase(platform.architecture),
                    lowercase(platform.variant)};
    std::string& arch = result.architecture;
    std::string& variant = result.variant;
    if (arch == "x86_64" || arch == "x86-64") {
        arch = "amd64";
    } else if (arch == "aarch64") {
        arch = "arm64";
    } else if (arch == "i386" || arch == "i686") {
        arch = "386";
    } else if (arch == "armhf") {
        arch = "arm";
        variant = variant.empty() ? "v7" : variant;
    } else if (arch == "armel") {
        arch = "arm";
        variant = variant.empty() ? "v6" : variant;
    }
    if ((arch == "arm" || arch == "arm64") && variant.size() == 1 &&
        std::isdigit(static_cast<unsigned char>(variant[0]))) {
        variant = "v" + variant;
    }
    return result;
}

// The variant an entry without one is built for on the architectures whose
// baseline every machine of that architecture runs.
std::string_view default_variant(std::string_view architecture) {
    if (architecture == "arm64") {
        return "v8";
    }
    if (architecture == "amd64") {
        return "v1";
    }
    return "";
}

// How well an index entry's platform fits `wanted` (both normalized):
// 3 exact, 2 equal once default variants are filled in, 1 an entry without a
// variant on amd64/arm64, 0 no fit.
int platform_score(const Platform& entry, const Platform& wanted) {
    if (entry.os != wanted.os || entry.architecture != wanted.architecture) {
        return 0;
    }
    if (entry.variant == wanted.variant) {
        return 3;
    }
    const std::string_view fallback = default_variant(entry.architecture);
    if (fallback.empty()) {
        return 0;
    }
    const std::string_view entry_variant = entry.variant.empty() ? fallback : entry.variant;
    const std::string_view wanted_variant = wanted.variant.empty() ? fallback : wanted.variant;
    if (entry_variant == wanted_variant) {
        return 2;
    }
    return entry.variant.empty() ? 1 : 0;
}

void require_string_field(const json& object, std::string_view key, std::string_view context) {
    if (const json* value = member(object, key); value != nullptr && !value->is_string()) {
        throw ManifestError(field_name(context, key) + " must be a string");
    }
}

std::vector<std::string> parse_diff_ids(const json& array_holder, std::string_view key,
                                        std::string_view context) {
    std::vector<std::string> diff_ids = string_array(array_holder, key, context);
    if (diff_ids.empty()) {
        throw ManifestError(field_name(context, key) + " must list at least one layer");
    }
    for (std::size_t i = 0; i < diff_ids.size(); ++i) {
        check_digest(diff_ids[i], field_name(context, key) + "[" + std::to_string(i) + "]");
    }
    return diff_ids;
}

}  // namespace

const std::string& manifest_accept_header() {
    static const std::string header =
        std::string(mt::kOciIndex) + ", " + std::string(mt::kDockerManifestList) + ", " +
        std::string(mt::kOciManifest) + ", " + std::string(mt::kDockerManifest);
    return header;
}

std::string Platform::to_string() const {
    std::string text = os + "/" + architecture;
    if (!variant.empty()) {
        text += "/" + variant;
    }
    return text;
}

Platform host_platform() {
#if defined(__x86_64__)
    return {"linux", "amd64", ""};
#elif defined(__aarch64__)
    return {"linux", "arm64", "v8"};
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7
    return {"linux", "arm", "v7"};
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH == 6
    return {"linux", "arm", "v6"};
#elif defined(__arm__)
    return {"linux", "arm", "v5"};
#elif defined(__i386__)
    return {"linux", "386", ""};
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return {"linux", "ppc64le", ""};
#elif defined(__s390x__)
    return {"linux", "s390x", ""};
#elif defined(__riscv) && __riscv_xlen == 64
    return {"linux", "riscv64", ""};
#else
    // Selection then fails with a message listing what the image offers.
    return {"linux", "unknown", ""};
#endif
}

std::variant<ImageManifest, ManifestIndex> parse_manifest(std::string_view content_type,
                                                          std::string_view body) {
    const std::string header_type = bare_media_type(content_type);
    if (is_schema1_type(header_type)) {
        schema1_unsupported();
    }
    const json document = parse_json_object(body, "manifest");

    if (const json* version = member(document, "schemaVersion")) {
        if (*version == 1) {
            schema1_unsupported();
        }
        if (*version != 2) {
            throw ManifestError("manifest schemaVersion must be 2, got " + version->dump());
        }
    } else {
        throw ManifestError("manifest has no schemaVersion");
    }
    const std::string body_type = optional_string(document, "mediaType", "manifest");
    if (is_schema1_type(body_type)) {
        schema1_unsupported();
    }

    std::string media_type;
    if (is_manifest_type(header_type) || is_index_type(header_type)) {
        // A disagreement means the registry or the pusher is confused; trusting
        // either side could pick the wrong parser for content we then fetch.
        if (!body_type.empty() && body_type != header_type) {
            throw ManifestError("manifest Content-Type " + in_quotes(header_type) +
                                " disagrees with its mediaType " + in_quotes(body_type));
        }
        media_type = header_type;
    } else if (!is_generic_type(header_type)) {
        throw ManifestError("unsupported manifest media type " + in_quotes(header_type));
    } else if (!body_type.empty()) {
        if (!is_manifest_type(body_type) && !is_index_type(body_type)) {
            throw ManifestError("unsupported manifest media type " + in_quotes(body_type));
        }
        media_type = body_type;
    } else {
        // mediaType is optional in OCI documents; the shape says what it is.
        const bool has_manifests = document.contains("manifests");
        const bool has_layers = document.contains("layers");
        if (has_manifests == has_layers) {
            throw ManifestError(
                "cannot tell an image manifest from an index: no media type, and the body has " +
                std::string(has_manifests ? "both" : "neither") + " \"manifests\" and \"layers\"");
        }
        media_type = std::string(has_manifests ? mt::kOciIndex : mt::kOciManifest);
    }

    if (is_index_type(media_type)) {
        return parse_index(document, media_type);
    }
    return parse_image_manifest(document, media_type);
}

const Descriptor& select_platform(const ManifestIndex& index, const Platform& wanted) {
    const Platform target = normalized(wanted);
    const Descriptor* best = nullptr;
    int best_score = -1;
    std::vector<std::string> present;
    for (const Descriptor& entry : index.manifests) {
        // Nested indexes and attestation or signature artifacts are not images
        // to run.
        if (!is_manifest_type(entry.media_type)) {
            continue;
        }
        int score = 0;  // an entry without a platform: the last resort
        if (entry.platform) {
            const std::string name = entry.platform->to_string();
            if (std::find(present.begin(), present.end(), name) == present.end()) {
                present.push_back(name);
            }
            score = platform_score(normalized(*entry.platform), target);
            if (score == 0) {
                continue;
            }
        }
        if (score > best_score) {
            best = &entry;
            best_score = score;
        }
    }
    if (best == nullptr) {
        std::string message = "no image for " + wanted.to_string() + " in the image index; ";
        if (present.empty()) {
            message += "it lists no platforms";
        } else {
            message += "it has";
            for (std::size_t i = 0; i < present.size(); ++i) {
                message += (i == 0 ? " " : ", ") + present[i];
            }
        }
        throw ManifestError(message);
    }
    return *best;
}

Compression layer_compression(const std::string& media_type) {
    if (media_type == mt::kOciLayerTar || media_type == mt::kOciNondistributableLayerTar) {
        return Compression::None;
    }
    if (media_type == mt::kOciLayerTarGzip || media_type == mt::kDockerLayerTarGzip ||
        media_type == mt::kOciNondistributableLayerTarGzip ||
        media_type == mt::kDockerForeignLayer) {
        return Compression::Gzip;
    }
    if (media_type == mt::kOciLayerTarZstd || media_type == mt::kOciNondistributableLayerTarZstd) {
        return Compression::Zstd;
    }
    throw ManifestError("unsupported layer media type " + in_quotes(media_type));
}

ImageConfig parse_image_config(std::string_view body) {
    const json document = parse_json_object(body, "image config");
    ImageConfig config;
    if (const json* settings = member(document, "config")) {
        if (!settings->is_object()) {
            throw ManifestError("config must be an object");
        }
        config.entrypoint = string_array(*settings, "Entrypoint", "config");
        config.cmd = string_array(*settings, "Cmd", "config");
        config.env = string_array(*settings, "Env", "config");
        config.user = optional_string(*settings, "User", "config");
        config.working_dir = optional_string(*settings, "WorkingDir", "config");
        config.stop_signal = optional_string(*settings, "StopSignal", "config");
        config.exposed_ports = object_keys(*settings, "ExposedPorts", "config");
        config.volumes = object_keys(*settings, "Volumes", "config");
        config.labels = string_map(*settings, "Labels", "config");
    }
    config.os = optional_string(document, "os", "");
    config.architecture = optional_string(document, "architecture", "");
    config.variant = optional_string(document, "variant", "");
    config.created = optional_string(document, "created", "");
    config.author = optional_string(document, "author", "");

    const json* rootfs = member(document, "rootfs");
    if (rootfs == nullptr) {
        throw ManifestError("image config has no rootfs");
    }
    if (!rootfs->is_object()) {
        throw ManifestError("rootfs must be an object");
    }
    if (const std::string type = required_string(*rootfs, "type", "rootfs"); type != "layers") {
        throw ManifestError("rootfs.type must be \"layers\", got " + in_quotes(type));
    }
    config.diff_ids = parse_diff_ids(*rootfs, "diff_ids", "rootfs");
    return config;
}

json to_json(const ImageConfig& config) {
    return json{
        {"entrypoint", config.entrypoint},
        {"cmd", config.cmd},
        {"env", config.env},
        {"user", config.user},
        {"working_dir", config.working_dir},
        {"stop_signal", config.stop_signal},
        {"os", config.os},
        {"architecture", config.architecture},
        {"variant", config.variant},
        {"created", config.created},
        {"author", config.author},
        {"exposed_ports", config.exposed_ports},
        {"volumes", config.volumes},
        {"labels", config.labels},
        {"diff_ids", config.diff_ids},
    };
}

ImageConfig image_config_from_json(const json& json_config) {
    constexpr std::string_view context = "image config record";
    if (!json_config.is_object()) {
        throw ManifestError(std::string(context) + " must be an object");
    }
    for (const char* key : {"user", "working_dir", "stop_signal", "os", "architecture", "variant",
                            "created", "author"}) {
        require_string_field(json_config, key, context);
    }
    ImageConfig config;
    config.entrypoint = string_array(json_config, "entrypoint", context);
    config.cmd = string_array(json_config, "cmd", context);
    config.env = string_array(json_config, "env", context);
    config.user = optional_string(json_config, "user", context);
    config.working_dir = optional_string(json_config, "working_dir", context);
    config.stop_signal = optional_string(json_config, "stop_signal", context);
    config.os = optional_string(json_config, "os", context);
    config.architecture = optional_string(json_config, "architecture", context);
    config.variant = optional_string(json_config, "variant", context);
    config.created = optional_string(json_config, "created", context);
    config.author = optional_string(json_config, "author", context);
    config.exposed_ports = string_array(json_config, "exposed_ports", context);
    config.volumes = string_array(json_config, "volumes", context);
    config.labels = string_map(json_config, "labels", context);
    config.diff_ids = parse_diff_ids(json_config, "diff_ids", context);
    return config;
}

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
    std::vector<std::string> chain;
    chain.reserve(diff_ids.size());
    for (const std::string& diff_id : diff_ids) {
        chain.push_back(chain.empty() ? diff_id : sha256_digest(chain.back() + " " + diff_id));
    }
    return chain;
}

std::string sha256_digest(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), hash.data(), &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("sha256 digest: EVP_Digest failed");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string digest = "sha256:";
    digest.reserve(digest.size() + 2 * length);
    for (unsigned int i = 0; i < length; ++i) {
        digest += kHex[hash[i] >> 4];
        digest += kHex[hash[i] & 0x0f];
    }
    return digest;
}

}  // namespace berth::storage
