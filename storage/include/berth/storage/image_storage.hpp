// The image store as the daemon sees it: pull, list, look up, remove, import,
// account for disk use, give containers their root filesystems and collect
// what nothing references. Thread-safe; long work (downloads, unpacking,
// deleting trees) happens outside the lock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <semaphore>
#include <set>
#include <string>
#include <vector>

#include "berth/config/config.hpp"
#include "berth/storage/idmapped_mount.hpp"
#include "berth/storage/image_record.hpp"
#include "berth/storage/layer_store.hpp"
#include "berth/storage/layout.hpp"
#include "berth/storage/reference.hpp"
#include "berth/storage/registry_client.hpp"

namespace berth::storage {

struct StorageUsage {
    std::uint64_t bytes = 0;
    std::uint64_t inodes = 0;
};

struct ContainerRootfs {
    std::string container_id;
    std::string image_id;
    std::vector<std::string> layers;  // chain ids, lowest first
    bool read_only = false;
    std::filesystem::path mount_point;  // <storage>/containers/<id>/merged
    std::filesystem::path upper;        // the writable layer
    // Set for a container in a pod with its own user namespace: each layer
    // is an idmapped bind under <storage>/containers/<id>/l/, and upper and
    // work belong to the host ids of the namespace's root.
    std::optional<IdMap> idmap;
};

struct GarbageReport {
    std::size_t layers_removed = 0;
    std::size_t blobs_removed = 0;
};

class ImageStorage {
public:
    ImageStorage(const config::Config& config, std::string unpack_helper);
    ~ImageStorage();

    // Creates the directories, clears what an interrupted pull left in tmp/,
    // reads images, layers and container root filesystems, drops records that
    // cannot be read (logging why) and collects garbage.
    void open();

    // Pulls `image` (as a user writes it) with the mirrors and registries of
    // `image_config`. Concurrent pulls of one reference share one download,
    // and layers are downloaded once however many pulls want them.
    ImageRecord pull(const std::string& image, const RegistryCredentials& credentials,
                     const config::ImageConfig& image_config);

    std::vector<ImageRecord> list() const;

    // By id ("sha256:<hex>", "<hex>", a unique hex prefix), by tag (short or
    // qualified) or by digest reference.
    std::optional<ImageRecord> find(const std::string& image,
                                    const config::ImageConfig& image_config) const;

    // Removing a tag of an image that has other tags only untags it; removing
    // the image by id or digest, or its last tag, removes it unless a
    // container uses it (FailedPrecondition). NotFound for an unknown image.
    void remove(const std::string& image, const config::ImageConfig& image_config);

    // The store's image content (layers and blobs) and each container's
    // writable layer.
    StorageUsage image_usage() const;
    std::map<std::string, StorageUsage> container_usage() const;
    const Layout& layout() const { return layout_; }

    // A root filesystem for a container: an overlayfs of the image's layers
    // with its own upper and work directories, mounted at the returned
    // mount point. Idempotent per container id.
    // With `idmap`, the layers are shown through its user namespace and the
    // directories from the storage root down are made traversable by others
    // (mode o+x, no listing), since the container's root is not host root.
    ContainerRootfs create_rootfs(const std::string& container_id, const std::string& image,
                                  bool read_only, const config::ImageConfig& image_config,
                                  const std::optional<IdMap>& idmap = std::nullopt);
    // Unmounts and deletes it and the container's image mounts; unknown ids
    // are fine (idempotent).
    void release_rootfs(const std::string& container_id);
    // For a root filesystem made with an IdMap: binds `source` (recursively)
    // with its ids at <storage>/containers/<id>/v/<index> and returns that
    // path, for the container's spec to bind instead of `source`. Released
    // with the root filesystem. StorageError FailedPrecondition where the
    // source's filesystem cannot be idmapped.
    std::filesystem::path bind_idmapped_volume(const std::string& container_id,
                                               const std::filesystem::path& source,
                                               std::size_t index);
    std::optional<ContainerRootfs> rootfs(const std::string& container_id) const;
    // Mounts again a root filesystem and the container's image mounts whose
    // mounts are gone (after a reboot).
    void ensure_mounted(const std::string& container_id);

    // An image mounted read-only for a container (a CRI mount of an image):
    // its layers as a read-only overlayfs, shared with every other user,
    // never copied. Kept, counted as a use of the image (RemoveImage
    // refuses) and released with the container's root filesystem. `index`
    // tells a container's image mounts apart; `idmap` is the container's
    // (its pod's user namespace). Idempotent.
    ContainerRootfs mount_image(const std::string& container_id, std::size_t index,
                                const std::string& image, const config::ImageConfig& image_config,
                                const std::optional<IdMap>& idmap = std::nullopt);

    GarbageReport collect_garbage();

    // Loads images from an OCI image layout directory, an OCI archive or a
    // `docker save` tarball, verifying every blob. Returns the images added.
    std::vector<ImageRecord> import(const std::filesystem::path& source);

private:
    struct LocalLayer {
        std::filesystem::path file;
        std::string digest;  // of the blob, empty when only the diff id is known
        std::int64_t size = -1;
    };
    ImageRecord pull_reference(const Reference& reference, const RegistryCredentials& credentials,
                               const config::ImageConfig& image_config);
    ImageRecord fetch_image(const Reference& reference, const RegistryCredentials& credentials,
                            const config::ImageConfig& image_config);
    void ensure_layer(const LayerRecord& wanted,
                      const std::function<void(const std::filesystem::path&)>& download);
    ImageRecord commit_image(ImageRecord record,
                             const std::vector<std::pair<std::string, std::string>>& blobs,
                             const std::vector<std::string>& new_tags,
                             const std::vector<std::string>& new_digests);
    void store_blob(const std::string& digest, const std::string& content);
    void save_record(const ImageRecord& record);
    std::optional<ImageRecord> find_locked(const std::string& image,
                                           const config::ImageConfig& image_config) const;
    std::map<std::string, ContainerRootfs> load_rootfs_records() const;
    // The keys (as root filesystems) of a container's image mounts.
    std::vector<std::string> image_mount_keys(const std::string& container_id) const;
    std::vector<ImageRecord> import_layout(const std::filesystem::path& layout_dir);
    std::vector<ImageRecord> import_docker_archive(const std::filesystem::path& dir);
    ImageRecord import_image(const std::string& config_body, const std::string& manifest_digest,
                             const std::string& media_type,
                             const std::vector<std::pair<std::string, std::string>>& blobs,
                             const std::vector<LocalLayer>& layers,
                             const std::vector<std::string>& tags);

    Layout layout_;
    LayerStore layer_store_;
    std::string unpack_helper_;

    mutable std::mutex mutex_;
    std::map<std::string, ImageRecord> images_;                               // by id
    std::map<std::string, LayerRecord> layers_;                               // by chain id
    std::map<std::string, ContainerRootfs> rootfs_;                           // by container id
    std::map<std::string, std::shared_future<ImageRecord>> pulls_in_flight_;  // by reference
    std::map<std::string, std::shared_future<void>> layers_in_flight_;        // by chain id
    std::multiset<std::string> protected_layers_;  // wanted by pulls not yet committed
    std::counting_semaphore<> download_slots_{3};
};

}  // namespace berth::storage
