#include "streaming/token_cache.hpp"

#include <openssl/rand.h>

#include <array>

#include "status_error.hpp"

namespace berth::daemon::streaming {

namespace {

std::string random_token() {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw StatusError(grpc::StatusCode::INTERNAL, "no random bytes for a streaming token");
    }
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // 6 bits per character: 43 characters carry the 256 bits.
    std::string token;
    unsigned int buffer = 0;
    int bits = 0;
    for (const unsigned char byte : bytes) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            token += kAlphabet[(buffer >> bits) & 0x3f];
        }
    }
    if (bits > 0)
        token += kAlphabet[(buffer << (6 - bits)) & 0x3f];
    return token;
}

}  // namespace

const char* path_segment(StreamKind kind) {
    switch (kind) {
    case StreamKind::Exec:
        return "exec";
    case StreamKind::Attach:
        return "attach";
    case StreamKind::PortForward:
        return "portforward";
    }
    return "exec";
}

TokenCache::TokenCache(std::chrono::milliseconds lifetime, std::size_t capacity)
    : lifetime_(lifetime), capacity_(capacity) {}

std::string TokenCache::insert(StreamRequest request) {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    drop_expired_locked(now);
    if (entries_.size() >= capacity_) {
        throw StatusError(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "too many streaming requests waiting for their client (" +
                              std::to_string(capacity_) + "); try again later");
    }
    std::string token = random_token();
    entries_[token] = Entry{std::move(request), now + lifetime_};
    return token;
}

std::optional<StreamRequest> TokenCache::consume(const std::string& token) {
    std::lock_guard lock(mutex_);
    const auto found = entries_.find(token);
    if (found == entries_.end())
        return std::nullopt;
    Entry entry = std::move(found->second);
    entries_.erase(found);
    if (entry.expires <= Clock::now())
        return std::nullopt;
    return std::move(entry.request);
}

std::size_t TokenCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void TokenCache::drop_expired_locked(Clock::time_point now) {
    std::erase_if(entries_, [now](const auto& entry) { return entry.second.expires <= now; });
}

}  // namespace berth::daemon::streaming
