// The channel framing kubelet uses on WebSocket: every binary message starts
// with a channel byte (remote command: 0 stdin, 1 stdout, 2 stderr, 3 error,
// 4 resize; v5 adds 255, a client's "close channel N"), and a reader thread
// that sorts incoming messages into per-channel queues. Queues are bounded:
// a full one stops the reader, so a process that does not read its input
// slows the client down through TCP instead of growing berthd.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "berth/stream/websocket_connection.hpp"

namespace berth::daemon::streaming {

inline constexpr std::uint8_t kCloseChannelSignal = 255;

class WebSocketChannels {
public:
    explicit WebSocketChannels(stream::WebSocketConnection& connection);
    ~WebSocketChannels();

    // Starts the reader; only messages of `channels` are kept, the rest are
    // dropped. Channels whose data the session consumes must be listed.
    void start(const std::vector<std::uint8_t>& channels);
    // Blocks until data on `channel`; nullopt once it was closed by the
    // client (v5) or the connection ended.
    std::optional<std::string> receive(std::uint8_t channel);
    bool send(std::uint8_t channel, std::string_view data);
    // Until the connection ends (client closed, error, or close()).
    void wait_closed();
    bool closed() const;
    // Closing handshake; receive() and wait_closed() return.
    void close();

private:
    void read_loop();

    stream::WebSocketConnection& connection_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    struct Queue {
        std::deque<std::string> messages;
        std::size_t bytes = 0;
        bool closed = false;
    };
    std::map<std::uint8_t, Queue> queues_;
    bool ended_ = false;
    std::thread reader_;
};

}  // namespace berth::daemon::streaming
