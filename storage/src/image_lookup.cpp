#include "image_lookup.hpp"

#include <algorithm>

#include "berth/storage/reference.hpp"

namespace berth::storage {
namespace {

bool all_hex(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::optional<ImageMatch> lookup_image(const std::map<std::string, ImageRecord>& images,
                                       const std::string& text,
                                       const std::vector<std::string>& search_registries) {
    if (text.empty())
        return std::nullopt;
    const std::string hex = text.rfind("sha256:", 0) == 0 ? text.substr(7) : text;
    if (hex.size() == 64 && all_hex(hex)) {
        if (images.count("sha256:" + hex) != 0)
            return ImageMatch{"sha256:" + hex, ""};
    }

    std::vector<Reference> candidates;
    try {
        candidates = resolve_reference(text, search_registries);
    } catch (const ReferenceError&) {
        // Not a name; it may still be an id prefix.
    }
    for (const auto& candidate : candidates) {
        for (const auto& [id, record] : images) {
            if (!candidate.digest.empty()) {
                if (contains(record.repo_digests, candidate.digested()))
                    return ImageMatch{id, ""};
            } else if (contains(record.repo_tags, candidate.tagged())) {
                return ImageMatch{id, candidate.tagged()};
            }
        }
    }

    if (all_hex(hex) && hex.size() < 64) {
        std::optional<ImageMatch> unique;
        for (const auto& [id, record] : images) {
            if (id.compare(7, hex.size(), hex) == 0) {
                if (unique)
                    return std::nullopt;  // ambiguous: no match
                unique = ImageMatch{id, ""};
            }
        }
        return unique;
    }
    return std::nullopt;
}

}  // namespace berth::storage
