// The directory layout of the image and layer store under <root>/storage.
// Later the content store, layer store, image index and container root
// filesystems are built on these paths.
#pragma once

#include <filesystem>

#include "berth/config/config.hpp"

namespace berth::storage {

class Layout {
public:
    explicit Layout(const config::Config& config);

    const std::filesystem::path& base() const { return base_; }
    std::filesystem::path blobs() const { return base_ / "blobs" / "sha256"; }
    std::filesystem::path layers() const { return base_ / "layers"; }
    std::filesystem::path images() const { return base_ / "images"; }
    std::filesystem::path container_layers() const { return base_ / "containers"; }
    std::filesystem::path temporary() const { return base_ / "tmp"; }

    // Creates every directory (mode 0700: image content is not for other
    // users) and throws std::filesystem::filesystem_error naming the one
    // that failed.
    void create_directories() const;

private:
    std::filesystem::path base_;
};

}  // namespace berth::storage
