// Streaming SHA-256, for content that is verified while it is written.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace berth::storage {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, std::size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    // "sha256:<64 lowercase hex>"; the hasher cannot be used afterwards.
    std::string digest();

private:
    struct State;
    std::unique_ptr<State> state_;
};

// The hex part of "sha256:<hex>" (the text unchanged when it has no prefix).
std::string digest_hex(const std::string& digest);

}  // namespace berth::storage
