// The streaming server of Exec, Attach and PortForward: HTTP/1.1 (TLS when
// configured) on stream_address:stream_port, served by libmicrohttpd, which
// hands each upgraded connection (SPDY/3.1 or WebSocket) to a thread of its
// own. The RPCs put their request under a token (TokenCache) and answer with
// the URL; the client's connection consumes the token.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "streaming/stream_backend.hpp"
#include "streaming/token_cache.hpp"

struct MHD_Daemon;

namespace berth::daemon::streaming {

struct StreamingOptions {
    std::string address = "127.0.0.1";
    int port = 0;  // 0: an ephemeral port
    bool tls = false;
    std::string tls_cert;  // PEM files
    std::string tls_key;
};

class StreamingServer {
public:
    explicit StreamingServer(StreamBackend& backend);
    ~StreamingServer();
    StreamingServer(const StreamingServer&) = delete;
    StreamingServer& operator=(const StreamingServer&) = delete;

    // Throws std::runtime_error naming the address when it cannot listen.
    void start(const StreamingOptions& options);
    // Ends every session and stops listening.
    void stop();

    bool running() const;
    // "http://127.0.0.1:34567" (https with TLS).
    std::string base_url() const;
    // Puts `request` under a new token and returns the client's URL. Throws
    // StatusError: UNAVAILABLE while not running, RESOURCE_EXHAUSTED.
    std::string url_for(StreamRequest request);

    // Called on the session's thread as each session ends (berthd's idle
    // trimmer counts it as activity). Set before start().
    void set_session_ended_observer(std::function<void()> observer) {
        session_ended_observer_ = std::move(observer);
    }

    TokenCache& tokens() { return tokens_; }
    int active_sessions() const;

    // For libmicrohttpd's callbacks.
    struct Callbacks;

private:
    void run_session(struct UpgradedConnection connection);

    StreamBackend& backend_;
    TokenCache tokens_;
    MHD_Daemon* daemon_ = nullptr;
    std::string base_url_;
    std::string tls_cert_;
    std::string tls_key_;
    std::function<void()> session_ended_observer_;

    mutable std::mutex sessions_mutex_;
    std::condition_variable sessions_ended_;
    std::set<int> session_fds_;
    int active_sessions_ = 0;
};

}  // namespace berth::daemon::streaming
