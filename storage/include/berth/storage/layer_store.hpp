// Unpacked layers keyed by chain id, shared by every image that has them:
// <storage>/layers/<chain hex>/{layer.json,diff/}. A layer exists only once its
// directory, complete with layer.json, has been renamed into place, so a crash
// mid-unpack leaves nothing that looks like a layer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "berth/storage/layout.hpp"

namespace berth::storage {

struct LayerRecord {
    std::string chain_id;
    std::string diff_id;
    std::string parent;             // chain id below, empty for the lowest
    std::string compressed_digest;  // the blob it was unpacked from
    std::uint64_t size = 0;         // bytes of regular files in diff/
    std::uint64_t inodes = 0;
};

class LayerStore {
public:
    explicit LayerStore(const Layout& layout) : layout_(layout) {}

    // Reads every complete layer; incomplete directories (no layer.json) are
    // removed. Returns the layers found.
    std::map<std::string, LayerRecord> load() const;

    std::filesystem::path directory(const std::string& chain_id) const;
    std::filesystem::path diff(const std::string& chain_id) const {
        return directory(chain_id) / "diff";
    }

    // Unpacks `archive` with the berth-unpack helper into a staging directory,
    // checks the result's diff id against `record.diff_id`, measures it and
    // renames it into place. Throws StorageError (DataLoss for a diff id
    // mismatch, InvalidArgument for an unsafe layer, Internal otherwise); the
    // staging directory is removed on failure.
    LayerRecord add(LayerRecord record, const std::filesystem::path& archive,
                    const std::string& unpack_helper) const;

    // Moves the layer out of the store, so that it stops existing at once,
    // into a directory below tmp/ that the caller deletes (remove_tree) when
    // it no longer holds a lock. Returns that directory.
    std::filesystem::path detach(const std::string& chain_id) const;

private:
    const Layout& layout_;
};

// Deletes a directory tree, logging (not throwing) what could not be deleted.
void remove_tree(const std::filesystem::path& path);

}  // namespace berth::storage
