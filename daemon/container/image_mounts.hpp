// CRI mounts of an image (Mount.image): the image, as the store mounts it
// read-only, or the part of it that image_sub_path names, bound into the
// container read-only.
#pragma once

#include <string>
#include <vector>

#include "berth/cri_api.hpp"

namespace berth::daemon::container {

struct ImageMountRequest {
    int index = 0;         // in ContainerConfig.mounts
    std::string image;     // as the request names it
    std::string sub_path;  // "" for the whole image
};

// The config's image mounts, checked before anything is made: host_path
// empty (the two are exclusive), image_sub_path relative without ".."
// components or control characters. Throws INVALID_ARGUMENT naming the
// field.
std::vector<ImageMountRequest> image_mount_requests(const runtime::v1::ContainerConfig& config);

// What to bind for `sub_path` of an image mounted at `mounted`: resolved as
// if `mounted` were the root, so that the image's own symbolic links (an
// absolute one, or "..") cannot lead out of it. INVALID_ARGUMENT naming
// `field` when nothing is there.
std::string resolve_image_sub_path(const std::string& mounted, const std::string& sub_path,
                                   const std::string& field);

}  // namespace berth::daemon::container
