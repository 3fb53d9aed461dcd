// Single-use tokens for streaming URLs. A token is 32 random bytes in URL-safe
// base64, so it cannot be guessed; it is consumed by the first connection
// and expires after a minute, as kubelet's own cache does. The cache is
// bounded so that a flood of Exec calls cannot grow berthd without limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "streaming/stream_request.hpp"

namespace berth::daemon::streaming {

class TokenCache {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kDefaultLifetime{60};
    static constexpr std::size_t kDefaultCapacity = 1000;

    explicit TokenCache(std::chrono::milliseconds lifetime = kDefaultLifetime,
                        std::size_t capacity = kDefaultCapacity);

    // Throws StatusError(RESOURCE_EXHAUSTED) when `capacity` unexpired tokens
    // are waiting.
    std::string insert(StreamRequest request);
    // The request, once: nullopt for an unknown, used or expired token.
    std::optional<StreamRequest> consume(const std::string& token);
    std::size_t size() const;

private:
    void drop_expired_locked(Clock::time_point now);

    struct Entry {
        StreamRequest request;
        Clock::time_point expires;
    };
    const std::chrono::milliseconds lifetime_;
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
};

}  // namespace berth::daemon::streaming
