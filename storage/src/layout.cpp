#include "berth/storage/layout.hpp"

namespace berth::storage {

namespace fs = std::filesystem;

Layout::Layout(const config::Config& config) : base_(fs::path(config.root) / "storage") {}

void Layout::create_directories() const {
    for (const auto& dir : {base_, blobs(), layers(), images(), container_layers(), temporary()}) {
        fs::create_directories(dir);
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    }
}

}  // namespace berth::storage
