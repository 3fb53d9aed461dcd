// A WebSocket connection at the level of messages, over a socket whose HTTP
// upgrade is already done. It answers pings and the closing handshake by
// itself, so that its users see only text and binary messages.
//
// Threads: one thread reads (read_message) while any number send; close()
// and shutdown() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "berth/stream/owned_fd.hpp"
#include "berth/stream/websocket_frame.hpp"

namespace berth::stream {

class WebSocketConnection {
public:
    struct Options {
        // Largest frame payload accepted; a bigger one closes with 1009.
        std::size_t max_frame_payload = 16 * 1024 * 1024;
        // Largest reassembled message accepted; a bigger one closes with 1009.
        std::size_t max_message_size = 16 * 1024 * 1024;
        // Outgoing messages larger than this go out as several fragments.
        std::size_t max_send_fragment = 16 * 1024 * 1024;
        // How long one send() may wait for the peer to take data: past it the
        // peer counts as gone and the connection is shut down.
        std::chrono::milliseconds write_timeout{30'000};
        // How long close() waits for the peer's Close frame.
        std::chrono::milliseconds close_timeout{2'000};
        // Longest silence read_message() accepts; zero waits forever.
        std::chrono::milliseconds read_timeout{0};
    };

    struct Message {
        WebSocketOpcode opcode = WebSocketOpcode::Binary;  // Text or Binary
        std::string payload;
    };

    // Takes ownership of `fd`, a connected stream socket (blocking or not).
    // `initial_input` are bytes already read past the HTTP head: the start of
    // the frame stream.
    WebSocketConnection(OwnedFd fd, WebSocketRole role, std::string initial_input = {});
    WebSocketConnection(OwnedFd fd, WebSocketRole role, std::string initial_input,
                        const Options& options);
    // Closes the socket without a closing handshake; call close() first for one.
    ~WebSocketConnection();
    WebSocketConnection(const WebSocketConnection&) = delete;
    WebSocketConnection& operator=(const WebSocketConnection&) = delete;

    // The next text or binary message, fragments reassembled. Pings are
    // answered on the way. nullopt once the connection is over: after a Close
    // frame from the peer (answered here) or the end of our own close(), on
    // EOF, on a protocol violation (answered with a Close carrying the reason)
    // or an I/O error; error() then tells which.
    std::optional<Message> read_message();

    // Sends one Text or Binary message (a control opcode sends that control
    // frame). false when the connection is closing or gone, or the peer did
    // not take the data within the write timeout.
    bool send(WebSocketOpcode opcode, std::string_view payload);
    bool send_text(std::string_view payload) { return send(WebSocketOpcode::Text, payload); }
    bool send_binary(std::string_view payload) { return send(WebSocketOpcode::Binary, payload); }

    // The closing handshake: sends a Close frame, stops writing (so that what
    // was sent reaches the peer ahead of the FIN) and waits up to the close
    // timeout for the peer's Close; a concurrent read_message() sees it and
    // returns nullopt. Later calls do nothing.
    void close(std::uint16_t code = close_code::kNormal, std::string_view reason = {});

    // Shuts the socket down in both directions: a blocked read_message() or
    // send() in another thread returns at once. No Close frame is sent.
    void shutdown();

    // Why the connection ended; empty while it is open and after a clean
    // closing handshake (both sides sent Close with a normal code).
    std::string error() const;
    // The Close status the peer sent, once it sent one.
    std::optional<WebSocketCloseStatus> peer_close_status() const;
    WebSocketRole role() const { return role_; }
    int fd() const { return fd_.get(); }

private:
    enum class ReadResult { Data, Eof, Timeout, Error };

    ReadResult read_some(std::chrono::steady_clock::time_point deadline, bool has_deadline);
    bool write_frame(WebSocketOpcode opcode, std::string_view payload, bool fin);
    bool write_all_locked(std::string_view bytes);
    bool send_close_frame(std::uint16_t code, std::string_view reason);
    // Handles a received Close frame; always ends the connection.
    void on_peer_close(const WebSocketFrame& frame);
    // Ends the connection because of something wrong: records why, tells the
    // peer with a Close frame (when it can still be written) and shuts down.
    void fail(std::uint16_t code, const std::string& message);
    void set_error_if_unset(const std::string& message);
    void on_eof();
    void mark_finished();

    OwnedFd fd_;
    WebSocketRole role_;
    Options options_;

    // Reader state, under read_mutex_.
    std::mutex read_mutex_;
    WebSocketFrameDecoder decoder_;

    // Serialises writers so that frames never interleave.
    std::mutex write_mutex_;
    bool close_sent_ = false;    // under write_mutex_
    bool write_failed_ = false;  // under write_mutex_

    // Connection state, under state_mutex_.
    mutable std::mutex state_mutex_;
    std::condition_variable finished_cv_;
    bool finished_ = false;  // a Close arrived, EOF, or an error: nothing more to read
    std::string error_;
    std::optional<WebSocketCloseStatus> peer_close_;
};

}  // namespace berth::stream
