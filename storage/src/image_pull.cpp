// ImageStorage::pull: reference → manifest (through mirrors) → platform →
// config → layers (concurrent, each once) → image record, committed last so
// that an interrupted pull leaves nothing that looks like an image.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>

#include "berth/storage/image_storage.hpp"
#include "berth/storage/sha256.hpp"
#include "berth/storage/storage_error.hpp"
#include "storage_internal.hpp"

namespace berth::storage {
namespace fs = std::filesystem;
namespace {

class TemporaryFile {
public:
    explicit TemporaryFile(const fs::path& directory) {
        std::string pattern = (directory / "blob-XXXXXX").string();
        const int fd = ::mkstemp(pattern.data());
        if (fd < 0) {
            throw StorageError(ErrorKind::Internal, "creating a file in " + directory.string() +
                                                        ": " + std::strerror(errno));
        }
        ::close(fd);
        path_ = pattern;
    }
    ~TemporaryFile() {
        std::error_code ignored;
        fs::remove(path_, ignored);
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// A semaphore slot held for one download.
class SlotGuard {
public:
    explicit SlotGuard(std::counting_semaphore<>& slots) : slots_(slots) { slots_.acquire(); }
    ~SlotGuard() { slots_.release(); }
    SlotGuard(const SlotGuard&) = delete;
    SlotGuard& operator=(const SlotGuard&) = delete;

private:
    std::counting_semaphore<>& slots_;
};

// A manifest or config that does not parse is the image's fault, not the
// request's: a failed precondition naming the image.
template <typename Parse>
auto parse_or_explain(const std::string& image, Parse&& parse) -> decltype(parse()) {
    return parse_checked(ErrorKind::FailedPrecondition, "image " + image,
                         std::forward<Parse>(parse));
}

}  // namespace

ImageRecord ImageStorage::pull(const std::string& image, const RegistryCredentials& credentials,
                               const config::ImageConfig& image_config) {
    // "docker://busybox", as CRI-O users sometimes write it: the only
    // transport there is.
    const std::string name = image.rfind("docker://", 0) == 0 ? image.substr(9) : image;
    std::vector<Reference> candidates;
    try {
        candidates = resolve_reference(name, image_config.unqualified_search_registries);
    } catch (const ReferenceError& error) {
        throw StorageError(ErrorKind::InvalidArgument,
                           std::string("invalid image reference: ") + error.what());
    }
    // A short name is tried in each search registry in turn; the first that
    // has it wins. The first failure is the one reported.
    std::exception_ptr first_failure;
    for (const auto& candidate : candidates) {
        try {
            return pull_reference(candidate, credentials, image_config);
        } catch (const StorageError& error) {
            if (candidates.size() > 1) {
                spdlog::info("pull {}: {}", candidate.to_string(), error.what());
            }
            if (!first_failure)
                first_failure = std::current_exception();
            if (error.kind() == ErrorKind::DataLoss || error.kind() == ErrorKind::Internal ||
                error.kind() == ErrorKind::ResourceExhausted)
                break;
        }
    }
    std::rethrow_exception(first_failure);
}

ImageRecord ImageStorage::pull_reference(const Reference& reference,
                                         const RegistryCredentials& credentials,
                                         const config::ImageConfig& image_config) {
    const std::string key = reference.to_string();
    std::shared_future<ImageRecord> shared;
    std::promise<ImageRecord> promise;
    bool leader = false;
    {
        std::lock_guard lock(mutex_);
        const auto found = pulls_in_flight_.find(key);
        if (found != pulls_in_flight_.end()) {
            shared = found->second;
        } else {
            shared = promise.get_future().share();
            pulls_in_flight_.emplace(key, shared);
            leader = true;
        }
    }
    if (!leader) {
        // Another caller is pulling this very reference: share its result.
        return shared.get();
    }
    try {
        auto record = fetch_image(reference, credentials, image_config);
        promise.set_value(record);
        std::lock_guard lock(mutex_);
        pulls_in_flight_.erase(key);
        return record;
    } catch (...) {
        promise.set_exception(std::current_exception());
        std::lock_guard lock(mutex_);
        pulls_in_flight_.erase(key);
        throw;
    }
}

ImageRecord ImageStorage::fetch_image(const Reference& reference,
                                      const RegistryCredentials& credentials,
                                      const config::ImageConfig& image_config) {
    const std::string shown = reference.to_string();
    const std::string wanted = reference.digest.empty() ? reference.tag : reference.digest;

    // Mirrors first, in order, then the registry itself; the first endpoint
    // that serves the manifest serves the blobs too.
    std::unique_ptr<RegistryClient> client;
    FetchedManifest top;
    std::string mirror_failures;
    for (const auto& endpoint : registry_endpoints(image_config, reference.registry)) {
        auto candidate =
            std::make_unique<RegistryClient>(endpoint, reference.repository, credentials);
        try {
            top = candidate->fetch_manifest(wanted, manifest_accept_header());
            client = std::move(candidate);
            break;
        } catch (const StorageError& error) {
            if (!endpoint.mirror)
                throw;
            spdlog::warn("pull {}: mirror {} failed, trying the next endpoint: {}", shown,
                         endpoint.host, error.what());
        }
    }

    std::vector<std::pair<std::string, std::string>> blobs{{top.digest, top.body}};
    auto parsed = parse_or_explain(shown, [&] { return parse_manifest(top.media_type, top.body); });
    FetchedManifest platform_manifest = top;
    if (const auto* index = std::get_if<ManifestIndex>(&parsed)) {
        const auto& chosen =
            parse_or_explain(shown, [&]() -> const Descriptor& { return select_platform(*index); });
        platform_manifest = client->fetch_manifest(chosen.digest, manifest_accept_header());
        blobs.emplace_back(platform_manifest.digest, platform_manifest.body);
        parsed = parse_or_explain(shown, [&] {
            return parse_manifest(platform_manifest.media_type, platform_manifest.body);
        });
        if (std::holds_alternative<ManifestIndex>(parsed)) {
            throw StorageError(ErrorKind::FailedPrecondition,
                               "image " + shown + ": an index inside an index is not supported");
        }
    }
    const auto& manifest = std::get<ImageManifest>(parsed);
    const std::string config_body =
        client->fetch_blob(manifest.config.digest, manifest.config.size);
    blobs.emplace_back(manifest.config.digest, config_body);
    ImageRecord record;
    record.id = manifest.config.digest;
    record.manifest_digest = platform_manifest.digest;
    record.manifest_media_type = manifest.media_type;
    record.config = parse_or_explain(shown, [&] { return parse_image_config(config_body); });
    if (record.config.diff_ids.size() != manifest.layers.size()) {
        throw StorageError(ErrorKind::FailedPrecondition,
                           "image " + shown + ": the manifest has " +
                               std::to_string(manifest.layers.size()) +
                               " layers but the config lists " +
                               std::to_string(record.config.diff_ids.size()) + " diff ids");
    }
    for (const auto& layer : manifest.layers) {
        parse_or_explain(shown, [&] { return layer_compression(layer.media_type); });
    }
    record.layers = chain_ids(record.config.diff_ids);
    for (const auto& [digest, content] : blobs) {
        record.blobs.push_back(digest);
    }
    record.created_at_ns = now_ns();

    LayerProtection protection(mutex_, protected_layers_, record.layers);
    std::vector<std::future<void>> downloads;
    for (std::size_t i = 0; i < manifest.layers.size(); ++i) {
        LayerRecord wanted_layer;
        wanted_layer.chain_id = record.layers[i];
        wanted_layer.diff_id = record.config.diff_ids[i];
        wanted_layer.parent = i == 0 ? "" : record.layers[i - 1];
        wanted_layer.compressed_digest = manifest.layers[i].digest;
        const Descriptor layer_blob = manifest.layers[i];
        RegistryClient* registry = client.get();
        downloads.push_back(
            std::async(std::launch::async, [this, wanted_layer, layer_blob, registry] {
                ensure_layer(wanted_layer, [&](const fs::path& destination) {
                    registry->fetch_blob_to_file(layer_blob.digest, layer_blob.size, destination);
                });
            }));
    }
    // Wait for every download before reporting: a thread still writing must
    // not outlive the client it uses.
    std::exception_ptr failure;
    for (auto& download : downloads) {
        try {
            download.get();
        } catch (...) {
            if (!failure)
                failure = std::current_exception();
        }
    }
    if (failure)
        std::rethrow_exception(failure);
    {
        std::lock_guard lock(mutex_);
        for (const auto& chain : record.layers) {
            record.size += layers_.at(chain).size;
        }
    }

    std::vector<std::string> tags;
    if (reference.digest.empty())
        tags.push_back(reference.tagged());
    auto committed = commit_image(record, blobs, tags, {reference.name() + "@" + top.digest});
    spdlog::info("pulled {} as {}", shown, committed.id);
    return committed;
}

void ImageStorage::ensure_layer(const LayerRecord& wanted,
                                const std::function<void(const fs::path&)>& download) {
    std::promise<void> promise;
    std::shared_future<void> shared;
    {
        std::lock_guard lock(mutex_);
        if (layers_.count(wanted.chain_id) != 0)
            return;
        const auto found = layers_in_flight_.find(wanted.chain_id);
        if (found != layers_in_flight_.end()) {
            shared = found->second;
        } else {
            layers_in_flight_.emplace(wanted.chain_id, promise.get_future().share());
        }
    }
    if (shared.valid()) {
        // Another pull is fetching this layer: wait for it.
        shared.get();
        return;
    }
    try {
        TemporaryFile blob(layout_.temporary());
        {
            SlotGuard slot(download_slots_);
            download(blob.path());
        }
        auto layer = layer_store_.add(wanted, blob.path(), unpack_helper_);
        std::lock_guard lock(mutex_);
        layers_[layer.chain_id] = layer;
        layers_in_flight_.erase(wanted.chain_id);
        promise.set_value();
    } catch (...) {
        std::lock_guard lock(mutex_);
        layers_in_flight_.erase(wanted.chain_id);
        promise.set_exception(std::current_exception());
        throw;
    }
}

}  // namespace berth::storage
