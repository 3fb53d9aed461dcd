// ImageStorage: the index of images and layers, lookups, removal, disk usage
// and garbage collection. Pulling is in image_pull.cpp, container root
// filesystems in container_rootfs.cpp, imports in image_import.cpp.
#include "berth/storage/image_storage.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "berth/storage/atomic_file.hpp"
#include "berth/storage/sha256.hpp"
#include "berth/storage/storage_error.hpp"
#include "image_lookup.hpp"

namespace berth::storage {
namespace fs = std::filesystem;

ImageStorage::ImageStorage(const config::Config& config, std::string unpack_helper)
    : layout_(config), layer_store_(layout_), unpack_helper_(std::move(unpack_helper)) {}

ImageStorage::~ImageStorage() = default;

void ImageStorage::open() {
    layout_.create_directories();
    // Whatever is in tmp/ belongs to a pull, unpack or removal that a crash
    // interrupted: none of it is part of an image.
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(layout_.temporary(), error)) {
        remove_tree(entry.path());
    }

    std::map<std::string, ImageRecord> images;
    for (const auto& entry : fs::directory_iterator(layout_.images(), error)) {
        if (entry.path().extension() != ".json") {
            continue;  // a temporary file of an interrupted atomic write
        }
        try {
            auto record =
                image_record_from_json(nlohmann::json::parse(read_whole_file(entry.path())));
            images.emplace(record.id, std::move(record));
        } catch (const std::exception& problem) {
            spdlog::error("storage: ignoring unreadable image record {}: {}", entry.path().string(),
                          problem.what());
        }
    }
    auto layers = layer_store_.load();
    // An image whose layers are not all there cannot run: forget it (its
    // content is collected below) rather than fail CreateContainer later.
    for (auto it = images.begin(); it != images.end();) {
        const bool complete =
            std::all_of(it->second.layers.begin(), it->second.layers.end(),
                        [&](const std::string& chain) { return layers.count(chain) != 0; });
        if (!complete) {
            spdlog::error("storage: image {} lacks layers; forgetting it", it->first);
            remove_tree(layout_.images() / (digest_hex(it->first) + ".json"));
            it = images.erase(it);
        } else {
            ++it;
        }
    }
    auto rootfs = load_rootfs_records();
    {
        std::lock_guard lock(mutex_);
        images_ = std::move(images);
        layers_ = std::move(layers);
        rootfs_ = std::move(rootfs);
    }
    const auto report = collect_garbage();
    spdlog::info(
        "storage: {} images, {} layers, {} container root filesystems ({} layers and {} blobs "
        "collected)",
        images_.size(), layers_.size(), rootfs_.size(), report.layers_removed,
        report.blobs_removed);
}

std::vector<ImageRecord> ImageStorage::list() const {
    std::lock_guard lock(mutex_);
    std::vector<ImageRecord> records;
    records.reserve(images_.size());
    for (const auto& [id, record] : images_) {
        records.push_back(record);
    }
    return records;
}

std::optional<ImageRecord> ImageStorage::find(const std::string& image,
                                              const config::ImageConfig& image_config) const {
    std::lock_guard lock(mutex_);
    return find_locked(image, image_config);
}

std::optional<ImageRecord> ImageStorage::find_locked(
    const std::string& image, const config::ImageConfig& image_config) const {
    const auto match = lookup_image(images_, image, image_config.unqualified_search_registries);
    if (!match)
        return std::nullopt;
    return images_.at(match->id);
}

void ImageStorage::save_record(const ImageRecord& record) {
    write_file_atomically((layout_.images() / (digest_hex(record.id) + ".json")).string(),
                          to_json(record).dump() + "\n");
}

void ImageStorage::store_blob(const std::string& digest, const std::string& content) {
    const fs::path path = layout_.blobs() / digest_hex(digest);
    if (!fs::exists(path)) {
        write_file_atomically(path.string(), content, 0600);
    }
}

ImageRecord ImageStorage::commit_image(
    ImageRecord record, const std::vector<std::pair<std::string, std::string>>& blobs,
    const std::vector<std::string>& new_tags, const std::vector<std::string>& new_digests) {
    std::lock_guard lock(mutex_);
    // Blobs are written under the lock so that garbage collection never sees
    // them before the record that references them.
    for (const auto& [digest, content] : blobs) {
        store_blob(digest, content);
    }
    const auto existing = images_.find(record.id);
    if (existing != images_.end()) {
        auto merged = existing->second;
        for (const auto& blob : record.blobs) {
            if (std::find(merged.blobs.begin(), merged.blobs.end(), blob) == merged.blobs.end()) {
                merged.blobs.push_back(blob);
            }
        }
        record = std::move(merged);
    }
    for (const auto& tag : new_tags) {
        // A tag names one image: it moves from whichever image had it.
        for (auto& [id, other] : images_) {
            if (id == record.id)
                continue;
            const auto found = std::find(other.repo_tags.begin(), other.repo_tags.end(), tag);
            if (found != other.repo_tags.end()) {
                other.repo_tags.erase(found);
                save_record(other);
            }
        }
        if (std::find(record.repo_tags.begin(), record.repo_tags.end(), tag) ==
            record.repo_tags.end()) {
            record.repo_tags.push_back(tag);
        }
    }
    for (const auto& digest : new_digests) {
        if (std::find(record.repo_digests.begin(), record.repo_digests.end(), digest) ==
            record.repo_digests.end()) {
            record.repo_digests.push_back(digest);
        }
    }
    save_record(record);
    images_[record.id] = record;
    return record;
}

void ImageStorage::remove(const std::string& image, const config::ImageConfig& image_config) {
    {
        std::lock_guard lock(mutex_);
        const auto match = lookup_image(images_, image, image_config.unqualified_search_registries);
        if (!match) {
            throw StorageError(ErrorKind::NotFound, "image \"" + image + "\" not found");
        }
        ImageRecord& record = images_.at(match->id);
        if (!match->tag.empty() && record.repo_tags.size() > 1) {
            // Other tags still name the image: only this name goes.
            record.repo_tags.erase(
                std::find(record.repo_tags.begin(), record.repo_tags.end(), match->tag));
            save_record(record);
            return;
        }
        for (const auto& [container, rootfs] : rootfs_) {
            if (rootfs.image_id == record.id) {
                // An image mount's key is "<container id>.mount<n>".
                throw StorageError(ErrorKind::FailedPrecondition,
                                   "image " + record.id + " is in use by container " +
                                       container.substr(0, container.find('.')));
            }
        }
        const fs::path file = layout_.images() / (digest_hex(record.id) + ".json");
        if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
            throw StorageError(ErrorKind::Internal,
                               "removing " + file.string() + ": " + std::strerror(errno));
        }
        images_.erase(match->id);
    }
    collect_garbage();
}

GarbageReport ImageStorage::collect_garbage() {
    GarbageReport report;
    std::vector<fs::path> doomed;
    {
        std::lock_guard lock(mutex_);
        std::set<std::string> used_layers(protected_layers_.begin(), protected_layers_.end());
        std::set<std::string> used_blobs;
        for (const auto& [id, record] : images_) {
            used_layers.insert(record.layers.begin(), record.layers.end());
            used_blobs.insert(record.blobs.begin(), record.blobs.end());
        }
        for (const auto& [container, rootfs] : rootfs_) {
            used_layers.insert(rootfs.layers.begin(), rootfs.layers.end());
        }
        for (const auto& [chain, future] : layers_in_flight_) {
            used_layers.insert(chain);
        }
        for (auto it = layers_.begin(); it != layers_.end();) {
            if (used_layers.count(it->first) != 0) {
                ++it;
                continue;
            }
            // Detached under the lock, so that a pull wanting this layer
            // again finds no half-deleted directory; deleted outside it.
            try {
                doomed.push_back(layer_store_.detach(it->first));
                ++report.layers_removed;
                it = layers_.erase(it);
            } catch (const StorageError& error) {
                spdlog::warn("storage: {}", error.what());
                ++it;
            }
        }
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(layout_.blobs(), error)) {
            const std::string digest = "sha256:" + entry.path().filename().string();
            if (used_blobs.count(digest) == 0) {
                std::error_code ignored;
                fs::remove(entry.path(), ignored);
                ++report.blobs_removed;
            }
        }
    }
    for (const auto& path : doomed) {
        remove_tree(path);
    }
    return report;
}

StorageUsage ImageStorage::image_usage() const {
    StorageUsage usage;
    std::lock_guard lock(mutex_);
    for (const auto& [chain, layer] : layers_) {
        usage.bytes += layer.size;
        usage.inodes += layer.inodes;
    }
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(layout_.blobs(), error)) {
        struct stat info {};
        if (::lstat(entry.path().c_str(), &info) == 0) {
            usage.bytes += static_cast<std::uint64_t>(info.st_size);
            ++usage.inodes;
        }
    }
    return usage;
}

std::map<std::string, StorageUsage> ImageStorage::container_usage() const {
    std::map<std::string, fs::path> uppers;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [container, rootfs] : rootfs_) {
            uppers.emplace(container, rootfs.upper);
        }
    }
    std::map<std::string, StorageUsage> usage;
    for (const auto& [container, upper] : uppers) {
        StorageUsage& used = usage[container];
        std::error_code error;
        for (fs::recursive_directory_iterator it(upper, fs::directory_options::none, error), end;
             !error && it != end; it.increment(error)) {
            struct stat info {};
            if (::lstat(it->path().c_str(), &info) == 0) {
                ++used.inodes;
                used.bytes += static_cast<std::uint64_t>(info.st_blocks) * 512;
            }
        }
    }
    return usage;
}

}  // namespace berth::storage
