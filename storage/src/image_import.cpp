// ImageStorage::import: images from an OCI image layout (a directory or an
// OCI archive) or from a `docker save` tarball, for nodes without a registry.
// Every blob is verified as a pull would verify it.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "berth/storage/atomic_file.hpp"
#include "berth/storage/image_storage.hpp"
#include "berth/storage/sha256.hpp"
#include "berth/storage/storage_error.hpp"
#include "storage_internal.hpp"

namespace berth::storage {
namespace fs = std::filesystem;
namespace {

struct ArchiveReader {
    archive* handle = archive_read_new();
    ~ArchiveReader() { archive_read_free(handle); }
};

// A path inside an archive that stays inside the directory it is extracted
// to: relative, no "..", nothing odd.
bool safe_member_name(const std::string& name) {
    if (name.empty() || name.front() == '/')
        return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        const auto end = name.find('/', start);
        const std::string part =
            name.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (part == "..")
            return false;
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return true;
}

// Extracts the regular files and directories of a tarball (gzip or not) into
// `destination`; links, devices and anything escaping are refused.
void extract_archive(const fs::path& tarball, const fs::path& destination) {
    ArchiveReader reader;
    archive_read_support_format_tar(reader.handle);
    archive_read_support_filter_all(reader.handle);
    if (archive_read_open_filename(reader.handle, tarball.c_str(), 1 << 16) != ARCHIVE_OK) {
        throw StorageError(ErrorKind::InvalidArgument,
                           tarball.string() + ": " + archive_error_string(reader.handle));
    }
    archive_entry* entry = nullptr;
    int status;
    while ((status = archive_read_next_header(reader.handle, &entry)) == ARCHIVE_OK) {
        std::string name = archive_entry_pathname(entry);
        while (name.rfind("./", 0) == 0)
            name.erase(0, 2);
        if (name.empty())
            continue;
        if (!safe_member_name(name)) {
            throw StorageError(ErrorKind::InvalidArgument,
                               tarball.string() + ": member \"" + name + "\" escapes the archive");
        }
        const fs::path target = destination / name;
        const auto type = archive_entry_filetype(entry);
        if (type == AE_IFDIR) {
            fs::create_directories(target);
            continue;
        }
        if (type != AE_IFREG) {
            continue;  // docker save writes symlinks for shared layers; the manifest names real
                       // files
        }
        fs::create_directories(target.parent_path());
        const int fd =
            ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            if (errno == ENOSPC || errno == EDQUOT)
                throw io_error("import: writing " + target.string(), errno);
            throw StorageError(ErrorKind::InvalidArgument, tarball.string() + ": member \"" + name +
                                                               "\": " + std::strerror(errno));
        }
        const int copied = archive_read_data_into_fd(reader.handle, fd);
        ::close(fd);
        if (copied != ARCHIVE_OK) {
            // A full disk is not the archive's fault: libarchive says only
            // "Write error", its errno says why.
            const int error = archive_errno(reader.handle);
            if (error == ENOSPC || error == EDQUOT)
                throw io_error("import: writing " + target.string(), error);
            throw StorageError(ErrorKind::InvalidArgument,
                               tarball.string() + ": member \"" + name +
                                   "\": " + archive_error_string(reader.handle));
        }
    }
    if (status != ARCHIVE_EOF) {
        throw StorageError(ErrorKind::InvalidArgument,
                           tarball.string() + ": " + archive_error_string(reader.handle));
    }
}

// Reads and verifies a blob of an image layout.
std::string read_blob(const fs::path& layout, const std::string& digest, std::int64_t size) {
    if (digest.rfind("sha256:", 0) != 0 || digest.size() != 71) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "unsupported digest \"" + digest + "\" in " + layout.string());
    }
    const fs::path path = layout / "blobs" / "sha256" / digest.substr(7);
    std::string content;
    try {
        content = read_whole_file(path.string());
    } catch (const std::exception& error) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "blob " + digest + " missing from " + layout.string());
    }
    if (size >= 0 && content.size() != static_cast<std::size_t>(size)) {
        throw StorageError(ErrorKind::DataLoss, "blob " + digest + " in " + layout.string() +
                                                    " has " + std::to_string(content.size()) +
                                                    " bytes, expected " + std::to_string(size));
    }
    if (sha256_digest(content) != digest) {
        throw StorageError(ErrorKind::DataLoss, "blob " + digest + " in " + layout.string() +
                                                    " does not match its digest");
    }
    return content;
}

// Copies a layer file into the store's staging file, checking its digest on
// the way when one is known (layout blobs); docker-save layers are checked by
// their diff id when unpacked.
void copy_verified(const fs::path& source, const fs::path& destination, const std::string& digest,
                   std::int64_t size) {
    std::ifstream in(source, std::ios::binary);
    if (!in) {
        throw StorageError(ErrorKind::InvalidArgument, "cannot read layer " + source.string());
    }
    // POSIX calls, not a stream: a failed write must say why (ENOSPC).
    const int out = ::open(destination.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        throw io_error("writing " + destination.string(), errno);
    Sha256 hasher;
    std::vector<char> buffer(1 << 16);
    std::uint64_t total = 0;
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto got = static_cast<std::size_t>(in.gcount());
        if (got == 0)
            break;
        hasher.update(buffer.data(), got);
        for (std::size_t written = 0; written < got;) {
            const ssize_t n = ::write(out, buffer.data() + written, got - written);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                const int error = errno;
                ::close(out);
                throw io_error("writing " + destination.string(), error);
            }
            written += static_cast<std::size_t>(n);
        }
        total += got;
    }
    if (::close(out) != 0)  // NFS and quotas report late
        throw io_error("writing " + destination.string(), errno);
    if (digest.empty())
        return;
    if (size >= 0 && total != static_cast<std::uint64_t>(size)) {
        throw StorageError(ErrorKind::DataLoss, "layer " + digest + " has " +
                                                    std::to_string(total) + " bytes, expected " +
                                                    std::to_string(size));
    }
    const auto actual = hasher.digest();
    if (actual != digest) {
        throw StorageError(ErrorKind::DataLoss,
                           "layer " + digest + " does not match its digest (got " + actual + ")");
    }
}

std::optional<Reference> name_of(const std::string& text) {
    try {
        return parse_reference(text);
    } catch (const ReferenceError&) {
        return std::nullopt;
    }
}

template <typename Parse>
auto parse_or_invalid(const std::string& subject, Parse&& parse) -> decltype(parse()) {
    return parse_checked(ErrorKind::InvalidArgument, "import: " + subject,
                         std::forward<Parse>(parse));
}

}  // namespace

std::vector<ImageRecord> ImageStorage::import(const fs::path& source) {
    std::error_code error;
    if (!fs::exists(source, error)) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "import: " + source.string() + " does not exist");
    }
    if (fs::is_directory(source)) {
        if (fs::exists(source / "oci-layout"))
            return import_layout(source);
        if (fs::exists(source / "manifest.json"))
            return import_docker_archive(source);
        throw StorageError(ErrorKind::InvalidArgument,
                           "import: " + source.string() +
                               " is neither an OCI image layout nor a docker save directory");
    }
    char pattern_buffer[] = "import-XXXXXX";
    std::string pattern = (layout_.temporary() / pattern_buffer).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw io_error("import: creating a staging directory in " + layout_.temporary().string(),
                       errno);
    }
    const fs::path staging = pattern;
    try {
        extract_archive(source, staging);
        auto images = import(staging);
        remove_tree(staging);
        return images;
    } catch (...) {
        remove_tree(staging);
        throw;
    }
}

std::vector<ImageRecord> ImageStorage::import_layout(const fs::path& dir) {
    nlohmann::json index;
    try {
        index = nlohmann::json::parse(read_whole_file((dir / "index.json").string()));
    } catch (const std::exception& problem) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "import: " + (dir / "index.json").string() + ": " + problem.what());
    }
    const auto top = parse_or_invalid(
        "index.json", [&] { return parse_manifest(media_types::kOciIndex, index.dump()); });
    const auto* entries = std::get_if<ManifestIndex>(&top);
    if (entries == nullptr) {
        throw StorageError(ErrorKind::InvalidArgument, "import: index.json is not an image index");
    }
    std::vector<ImageRecord> imported;
    for (const auto& entry : entries->manifests) {
        std::vector<std::pair<std::string, std::string>> blobs;
        std::string body = read_blob(dir, entry.digest, entry.size);
        blobs.emplace_back(entry.digest, body);
        auto parsed =
            parse_or_invalid(entry.digest, [&] { return parse_manifest(entry.media_type, body); });
        std::string manifest_digest = entry.digest;
        if (const auto* nested = std::get_if<ManifestIndex>(&parsed)) {
            const auto& chosen = parse_or_invalid(
                entry.digest, [&]() -> const Descriptor& { return select_platform(*nested); });
            body = read_blob(dir, chosen.digest, chosen.size);
            blobs.emplace_back(chosen.digest, body);
            manifest_digest = chosen.digest;
            parsed = parse_or_invalid(chosen.digest,
                                      [&] { return parse_manifest(chosen.media_type, body); });
        }
        const auto* manifest = std::get_if<ImageManifest>(&parsed);
        if (manifest == nullptr) {
            throw StorageError(ErrorKind::InvalidArgument,
                               "import: nested index " + manifest_digest + " not supported");
        }
        std::vector<LocalLayer> layers;
        for (const auto& layer : manifest->layers) {
            parse_or_invalid(layer.digest, [&] { return layer_compression(layer.media_type); });
            layers.push_back(
                {dir / "blobs" / "sha256" / digest_hex(layer.digest), layer.digest, layer.size});
        }
        const std::string config_body =
            read_blob(dir, manifest->config.digest, manifest->config.size);
        std::vector<std::string> tags;
        const auto annotation = entry.annotations.find("org.opencontainers.image.ref.name");
        const auto containerd_name = entry.annotations.find("io.containerd.image.name");
        std::optional<Reference> name;
        if (containerd_name != entry.annotations.end())
            name = name_of(containerd_name->second);
        // ref.name is often only a tag ("1.36", as skopeo's oci: transport
        // writes it), which names no repository: only a value with a
        // repository in it becomes a tag here.
        if (!name && annotation != entry.annotations.end() &&
            annotation->second.find_first_of(":/") != std::string::npos) {
            name = name_of(annotation->second);
        }
        if (name && name->digest.empty())
            tags.push_back(name->tagged());
        imported.push_back(
            import_image(config_body, manifest_digest, manifest->media_type, blobs, layers, tags));
    }
    return imported;
}

std::vector<ImageRecord> ImageStorage::import_docker_archive(const fs::path& dir) {
    nlohmann::json manifests;
    try {
        manifests = nlohmann::json::parse(read_whole_file((dir / "manifest.json").string()));
    } catch (const std::exception& problem) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "import: manifest.json: " + std::string(problem.what()));
    }
    std::vector<ImageRecord> imported;
    try {
        for (const auto& entry : manifests) {
            const std::string config_name = entry.at("Config").get<std::string>();
            if (!safe_member_name(config_name))
                throw std::runtime_error("bad Config path");
            const std::string config_body = read_whole_file((dir / config_name).string());
            std::vector<LocalLayer> layers;
            for (const auto& layer : entry.at("Layers")) {
                const auto name = layer.get<std::string>();
                if (!safe_member_name(name))
                    throw std::runtime_error("bad layer path " + name);
                layers.push_back({dir / name, "", -1});
            }
            std::vector<std::string> tags;
            if (entry.contains("RepoTags") && entry["RepoTags"].is_array()) {
                for (const auto& tag : entry["RepoTags"]) {
                    if (auto name = name_of(tag.get<std::string>()); name && name->digest.empty()) {
                        tags.push_back(name->tagged());
                    }
                }
            }
            const std::string config_digest = sha256_digest(config_body);
            imported.push_back(
                import_image(config_body, "", "", {{config_digest, config_body}}, layers, tags));
        }
    } catch (const StorageError&) {
        throw;
    } catch (const std::system_error&) {
        throw;  // a local I/O failure (a full disk) is not the archive's fault
    } catch (const std::exception& problem) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "import: manifest.json: " + std::string(problem.what()));
    }
    return imported;
}

ImageRecord ImageStorage::import_image(
    const std::string& config_body, const std::string& manifest_digest,
    const std::string& media_type, const std::vector<std::pair<std::string, std::string>>& blobs,
    const std::vector<LocalLayer>& layers, const std::vector<std::string>& tags) {
    ImageRecord record;
    record.id = sha256_digest(config_body);
    record.manifest_digest = manifest_digest;
    record.manifest_media_type = media_type;
    record.config = parse_or_invalid(record.id, [&] { return parse_image_config(config_body); });
    if (record.config.diff_ids.size() != layers.size()) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "import: image " + record.id + " has " + std::to_string(layers.size()) +
                               " layers but its config lists " +
                               std::to_string(record.config.diff_ids.size()));
    }
    record.layers = chain_ids(record.config.diff_ids);
    for (const auto& [digest, content] : blobs)
        record.blobs.push_back(digest);
    if (std::find(record.blobs.begin(), record.blobs.end(), record.id) == record.blobs.end()) {
        record.blobs.push_back(record.id);
    }
    auto all_blobs = blobs;
    all_blobs.emplace_back(record.id, config_body);
    record.created_at_ns = now_ns();

    LayerProtection protection(mutex_, protected_layers_, record.layers);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        LayerRecord wanted;
        wanted.chain_id = record.layers[i];
        wanted.diff_id = record.config.diff_ids[i];
        wanted.parent = i == 0 ? "" : record.layers[i - 1];
        wanted.compressed_digest = layers[i].digest.empty() ? wanted.diff_id : layers[i].digest;
        const LocalLayer& local = layers[i];
        ensure_layer(wanted, [&](const fs::path& destination) {
            copy_verified(local.file, destination, local.digest, local.size);
        });
    }
    {
        std::lock_guard lock(mutex_);
        for (const auto& chain : record.layers)
            record.size += layers_.at(chain).size;
    }
    std::vector<std::string> digests;
    for (const auto& tag : tags) {
        if (!manifest_digest.empty()) {
            if (auto name = name_of(tag))
                digests.push_back(name->name() + "@" + manifest_digest);
        }
    }
    auto committed = commit_image(record, all_blobs, tags, digests);
    spdlog::info("imported image {} ({} tags)", committed.id, tags.size());
    return committed;
}

}  // namespace berth::storage
