// Small pieces shared by pulling and importing images.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "berth/storage/manifest.hpp"
#include "berth/storage/storage_error.hpp"

namespace berth::storage {

// Keeps an image's layers out of garbage collection until its record exists.
class LayerProtection {
public:
    LayerProtection(std::mutex& mutex, std::multiset<std::string>& set,
                    const std::vector<std::string>& layers)
        : mutex_(mutex), set_(set), layers_(layers) {
        std::lock_guard lock(mutex_);
        set_.insert(layers_.begin(), layers_.end());
    }
    ~LayerProtection() {
        std::lock_guard lock(mutex_);
        for (const auto& layer : layers_) {
            set_.erase(set_.find(layer));
        }
    }
    LayerProtection(const LayerProtection&) = delete;
    LayerProtection& operator=(const LayerProtection&) = delete;

private:
    std::mutex& mutex_;
    std::multiset<std::string>& set_;
    std::vector<std::string> layers_;
};

inline std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Runs a manifest/config parser, turning its ManifestError into a
// StorageError of `kind` that names `subject`.
template <typename Parse>
auto parse_checked(ErrorKind kind, const std::string& subject, Parse&& parse) -> decltype(parse()) {
    try {
        return parse();
    } catch (const ManifestError& error) {
        throw StorageError(kind, subject + ": " + error.what());
    }
}

}  // namespace berth::storage
