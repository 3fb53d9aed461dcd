// Unpacking one image layer, done by the berth-unpack helper process inside a
// chroot of the destination, so that no entry can land outside it, a crash or
// a decompression bomb costs only the helper, and berthd's memory does not
// grow with the layer.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace berth::storage {

struct UnpackResult {
    std::string diff_id;  // "sha256:<hex>" of the uncompressed tar stream
    std::uint64_t uncompressed_size = 0;
    std::uint64_t entries = 0;
    std::uint64_t skipped_devices = 0;  // device nodes left out (allow_devices = false)
};

struct UnpackOptions {
    // False where device nodes must not appear (e.g. rootless); whiteouts are
    // made either way.
    bool allow_devices = true;
    std::chrono::seconds timeout{600};
};

class LayerUnpackError : public std::runtime_error {
public:
    explicit LayerUnpackError(const std::string& message, bool no_space = false)
        : std::runtime_error(message), no_space_(no_space) {}
    // The destination's filesystem (or its quota) was full.
    bool no_space() const { return no_space_; }

private:
    bool no_space_;
};

// Runs `helper` (the berth-unpack binary) on `archive` (gzip, zstd or plain
// tar), extracting into `destination`, which is created if missing and must be
// empty. Whiteouts become overlayfs whiteouts. Throws LayerUnpackError with
// the helper's reason on failure; a partly written destination is then left
// for the caller to remove. Safe to call from many threads at once.
UnpackResult unpack_layer(const std::string& helper, const std::filesystem::path& archive,
                          const std::filesystem::path& destination,
                          const UnpackOptions& options = {});

// Where berth-unpack lives: beside the running executable, then
// <that>/../libexec/berth/, then $PATH. Throws LayerUnpackError naming the
// places searched.
std::string find_unpack_helper();

}  // namespace berth::storage
