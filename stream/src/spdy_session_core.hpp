// The state behind SpdySession and its SpdyStream handles. Shared with the
// handles, so a stream outlives its session safely.
//
// Locking: write_mu_ serialises everything that goes onto the socket (and the
// header compressor, whose state must follow wire order); mu_ guards all
// other state. write_mu_ may be taken before mu_, never the other way round,
// and no thread waits on a condition variable while holding write_mu_.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "berth/stream/spdy_frame.hpp"
#include "berth/stream/spdy_header_block.hpp"
#include "berth/stream/spdy_session.hpp"
#include "spdy_socket.hpp"

namespace berth::stream::detail {

struct SpdyStreamState {
    SpdyStreamState(std::uint32_t stream_id, bool opened_locally)
        : id(stream_id), locally_opened(opened_locally) {}

    const std::uint32_t id;
    const bool locally_opened;
    // Written before the application can see the stream, constant after.
    SpdyHeaders headers;

    // Guarded by SpdySessionCore::mu_. `cv` signals data, FIN, reset, window
    // changes, the reply, and session end.
    std::condition_variable cv;
    std::string inbound;
    std::size_t inbound_offset = 0;
    bool replied = false;  // SYN_REPLY sent (peer's stream) or received (ours)
    bool remote_fin = false;
    bool local_fin = false;
    bool reset = false;
    std::int64_t send_window = 0;
    std::uint32_t unacked = 0;  // consumed, not yet returned by WINDOW_UPDATE

    std::size_t buffered() const { return inbound.size() - inbound_offset; }
};

class SpdySessionCore : public std::enable_shared_from_this<SpdySessionCore> {
public:
    SpdySessionCore(int fd, SpdySession::Role role, SpdySessionOptions options,
                    std::string initial_input);
    ~SpdySessionCore();

    void set_stream_handler(SpdySession::StreamHandler handler);
    void start();
    std::shared_ptr<SpdyStream> open_stream(const SpdyHeaders& headers);
    bool ping(std::chrono::milliseconds timeout);
    void close();
    void wait_closed();
    bool closed() const;
    std::string error() const;

    std::size_t read(SpdyStreamState& stream, char* buffer, std::size_t length);
    bool write(SpdyStreamState& stream, std::string_view data);
    void close_write(SpdyStreamState& stream);
    void reset(SpdyStreamState& stream, std::uint32_t status);

private:
    // Reader thread (spdy_session_reader.cpp).
    void reader_loop();
    void handle_frame(SpdyFrame& frame);
    void handle_syn_stream(SpdyFrame& frame);
    void send_syn_reply(SpdyStreamState& stream, bool unidirectional);
    void handle_syn_reply(SpdyFrame& frame);
    void handle_headers(SpdyFrame& frame);
    void handle_data(SpdyFrame& frame);
    void handle_rst_stream(const SpdyFrame& frame);
    void handle_settings(const SpdyFrame& frame);
    void handle_ping(const SpdyFrame& frame);
    void handle_goaway(const SpdyFrame& frame);
    void handle_window_update(const SpdyFrame& frame);
    // Marks the session over, wakes every waiter, half-closes the socket.
    void end_session(const std::string& reason);
    // Reads and discards until EOF or close_timeout (close() without reader).
    void drain_without_reader();

    // Sending. send_locked() requires write_mu_; the others take it. All
    // return false when nothing was sent; a failed write ends the session.
    bool send_locked(std::string_view head, std::string_view payload = {});
    bool send_frame(const SpdyFrame& frame);
    void send_window_updates(std::uint32_t stream_id, std::uint32_t stream_delta,
                             std::uint32_t session_delta);
    void send_rst(std::uint32_t stream_id, std::uint32_t status);

    // The rest require mu_.
    void fail_locked(const std::string& reason);
    void notify_all_locked();
    std::shared_ptr<SpdyStreamState> find_locked(std::uint32_t id) const;
    void forget_if_done_locked(const SpdyStreamState& stream);
    void discard_inbound_locked(SpdyStreamState& stream, std::uint32_t& session_delta);
    std::uint32_t credit_session_locked(std::size_t consumed);
    bool is_peer_stream_id(std::uint32_t id) const;
    bool waits_forever(std::chrono::milliseconds timeout) const { return timeout.count() <= 0; }

    const SpdySession::Role role_;
    const SpdySessionOptions options_;
    SpdySocket socket_;

    // Reader thread only.
    std::string initial_input_;
    SpdyFrameDecoder decoder_;
    SpdyHeaderDecompressor decompressor_;

    std::mutex write_mu_;
    SpdyHeaderCompressor compressor_;  // guarded by write_mu_
    std::uint32_t next_stream_id_;     // guarded by write_mu_: ids must rise on the wire
    bool write_shut_ = false;          // guarded by write_mu_

    mutable std::mutex mu_;
    std::condition_variable session_cv_;  // reader end, ping replies
    std::map<std::uint32_t, std::shared_ptr<SpdyStreamState>> streams_;
    SpdySession::StreamHandler handler_;
    std::uint32_t last_peer_stream_id_ = 0;
    std::int64_t peer_initial_window_ = kSpdyDefaultWindow;
    std::int64_t session_send_window_ = kSpdyDefaultWindow;
    bool stream_flow_control_ = false;   // the peer showed it honours stream windows
    bool session_flow_control_ = false;  // ... and the SPDY/3.1 session window
    std::uint32_t session_unacked_ = 0;
    std::map<std::uint32_t, bool> pings_;  // our ping ids, true once answered
    std::uint32_t next_ping_id_;
    bool started_ = false;
    bool close_started_ = false;
    bool closing_ = false;  // close() called: no new streams or data
    bool goaway_sent_ = false;
    bool goaway_received_ = false;
    bool write_broken_ = false;  // a write failed: the peer is gone, reads go on
    bool dead_ = false;          // no more socket I/O
    bool finished_ = false;      // the reader thread has ended (or never will run)
    std::string error_;
    std::thread reader_;
    std::thread::id reader_id_;
    std::mutex join_mu_;
};

}  // namespace berth::stream::detail
