// What Berth knows of one image, as kept in <root>/storage/images/<id>.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/storage/manifest.hpp"

namespace berth::storage {

struct ImageRecord {
    std::string id;                         // "sha256:<config digest hex>"
    std::vector<std::string> repo_tags;     // "docker.io/library/busybox:latest"
    std::vector<std::string> repo_digests;  // "docker.io/library/busybox@sha256:..."
    std::string manifest_digest;            // the platform's image manifest
    std::string manifest_media_type;
    std::vector<std::string> blobs;   // manifests (index and image) and config kept in blobs/
    std::vector<std::string> layers;  // chain ids, lowest first
    std::uint64_t size = 0;           // bytes of the unpacked layers
    ImageConfig config;
    std::int64_t created_at_ns = 0;  // when this node got it
};

nlohmann::json to_json(const ImageRecord& record);

// Whether one of the image's tags or digests matches a pinned_images pattern:
// an exact name, "prefix*" or "*keyword*".
bool is_pinned(const ImageRecord& record, const std::vector<std::string>& patterns);
// Throws std::exception (nlohmann or ManifestError) for a record that is not one.
ImageRecord image_record_from_json(const nlohmann::json& json);

}  // namespace berth::storage
