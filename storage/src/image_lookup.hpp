// How a user's image name finds an image record: by id, tag, digest or a
// unique id prefix, the way crictl and kubelet refer to images.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/storage/image_record.hpp"

namespace berth::storage {

struct ImageMatch {
    std::string id;
    std::string tag;  // the qualified tag that matched, empty for id/digest matches
};

std::optional<ImageMatch> lookup_image(const std::map<std::string, ImageRecord>& images,
                                       const std::string& text,
                                       const std::vector<std::string>& search_registries);

}  // namespace berth::storage
