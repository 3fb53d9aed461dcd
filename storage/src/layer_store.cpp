#include "berth/storage/layer_store.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "berth/storage/atomic_file.hpp"
#include "berth/storage/layer_unpack.hpp"
#include "berth/storage/sha256.hpp"
#include "berth/storage/storage_error.hpp"

namespace berth::storage {
namespace fs = std::filesystem;
namespace {

nlohmann::json to_json(const LayerRecord& layer) {
    return {{"chain_id", layer.chain_id}, {"diff_id", layer.diff_id},
            {"parent", layer.parent},     {"compressed_digest", layer.compressed_digest},
            {"size", layer.size},         {"inodes", layer.inodes}};
}

LayerRecord layer_from_json(const nlohmann::json& json) {
    LayerRecord layer;
    layer.chain_id = json.at("chain_id").get<std::string>();
    layer.diff_id = json.at("diff_id").get<std::string>();
    layer.parent = json.at("parent").get<std::string>();
    layer.compressed_digest = json.value("compressed_digest", "");
    layer.size = json.at("size").get<std::uint64_t>();
    layer.inodes = json.at("inodes").get<std::uint64_t>();
    return layer;
}

// A fresh directory below the store's tmp/, removed with its content unless
// released: a failed unpack leaves nothing behind.
class StagingDirectory {
public:
    StagingDirectory(const fs::path& parent, const std::string& prefix) {
        std::string pattern = (parent / (prefix + "XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw StorageError(ErrorKind::Internal, "creating a directory in " + parent.string() +
                                                        ": " + std::strerror(errno));
        }
        path_ = pattern;
    }
    ~StagingDirectory() {
        if (!path_.empty()) {
            std::error_code ignored;
            fs::remove_all(path_, ignored);
        }
    }
    StagingDirectory(const StagingDirectory&) = delete;
    StagingDirectory& operator=(const StagingDirectory&) = delete;
    const fs::path& path() const { return path_; }
    void release() { path_.clear(); }

private:
    fs::path path_;
};

void measure(const fs::path& root, LayerRecord& layer) {
    layer.size = 0;
    layer.inodes = 1;
    std::error_code error;
    for (fs::recursive_directory_iterator it(root, fs::directory_options::none, error), end;
         !error && it != end; it.increment(error)) {
        ++layer.inodes;
        struct stat info {};
        if (::lstat(it->path().c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
            layer.size += static_cast<std::uint64_t>(info.st_size);
        }
    }
}

}  // namespace

fs::path LayerStore::directory(const std::string& chain_id) const {
    return layout_.layers() / digest_hex(chain_id);
}

std::map<std::string, LayerRecord> LayerStore::load() const {
    std::map<std::string, LayerRecord> layers;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(layout_.layers(), error)) {
        const auto record_file = entry.path() / "layer.json";
        try {
            auto layer = layer_from_json(nlohmann::json::parse(read_whole_file(record_file)));
            if (digest_hex(layer.chain_id) != entry.path().filename().string()) {
                throw std::runtime_error("chain id does not match the directory name");
            }
            layers.emplace(layer.chain_id, std::move(layer));
        } catch (const std::exception& problem) {
            // Only a layer renamed into place complete has a record; anything
            // else is debris (a crash between rename and a later step cannot
            // produce it, but a hand-edited store can).
            spdlog::warn("storage: removing layer directory {}: {}", entry.path().string(),
                         problem.what());
            std::error_code ignored;
            fs::remove_all(entry.path(), ignored);
        }
    }
    return layers;
}

LayerRecord LayerStore::add(LayerRecord record, const fs::path& archive,
                            const std::string& unpack_helper) const {
    StagingDirectory staging(layout_.temporary(), "layer-");
    UnpackResult unpacked;
    try {
        unpacked = unpack_layer(unpack_helper, archive, staging.path() / "diff");
    } catch (const LayerUnpackError& error) {
        throw StorageError(error.no_space() ? ErrorKind::ResourceExhausted
                                            : ErrorKind::InvalidArgument,
                           "layer " + record.compressed_digest + ": " + error.what());
    }
    if (unpacked.diff_id != record.diff_id) {
        throw StorageError(ErrorKind::DataLoss,
                           "layer " + record.compressed_digest + " unpacks to " + unpacked.diff_id +
                               ", but the image config says " + record.diff_id);
    }
    measure(staging.path() / "diff", record);
    write_file_atomically((staging.path() / "layer.json").string(), to_json(record).dump() + "\n");
    const fs::path target = directory(record.chain_id);
    if (::rename(staging.path().c_str(), target.c_str()) != 0) {
        if (errno == EEXIST || errno == ENOTEMPTY) {
            return layer_from_json(
                nlohmann::json::parse(read_whole_file((target / "layer.json").string())));
        }
        throw StorageError(ErrorKind::Internal, "moving layer " + record.chain_id +
                                                    " into place: " + std::strerror(errno));
    }
    staging.release();
    return record;
}

fs::path LayerStore::detach(const std::string& chain_id) const {
    const fs::path source = directory(chain_id);
    StagingDirectory trash(layout_.temporary(), "removed-");
    if (::rename(source.c_str(), (trash.path() / "layer").c_str()) != 0 && errno != ENOENT) {
        throw StorageError(ErrorKind::Internal,
                           "removing layer " + chain_id + ": " + std::strerror(errno));
    }
    const fs::path detached = trash.path();
    trash.release();
    return detached;
}

void remove_tree(const fs::path& path) {
    std::error_code error;
    fs::remove_all(path, error);
    if (error) {
        spdlog::warn("storage: deleting {}: {}", path.string(), error.message());
    }
}

}  // namespace berth::storage
