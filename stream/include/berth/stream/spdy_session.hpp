// A SPDY/3.1 session over a connected socket, for both ends of kubelet's
// streaming protocols (berthd's streaming server, berthctl's client).
//
// The peer is usually Go's moby/spdystream (kubelet, client-go, crictl), so
// the session follows what that library actually does (read in its
// connection.go, stream.go and spdy/{read,write,types}.go, v0.2.0 to v0.5.0):
//  * Version 3 frames; header blocks are zlib-compressed with the SPDY/3
//    dictionary, one zlib stream per direction, a sync flush per frame. Go rejects
//    a header block with a repeated name, so values of one name are NUL-joined.
//  * No flow control at all: it never sends WINDOW_UPDATE or SETTINGS, parses
//    ours and ignores them, and sends each Write() as one DATA frame whatever
//    our window. Hence (1) our sender enforces the peer's windows only once
//    the peer shows it does flow control: a SETTINGS with an initial window or
//    a stream WINDOW_UPDATE enables the per-stream windows, a WINDOW_UPDATE for
//    stream 0 the SPDY/3.1 session window (a plain SPDY/3 peer never sends
//    one). Until then a 64 KiB default would stall every transfer for good.
//    (2) Our receiver does not treat an overrun of its window as an error;
//    it stops reading the socket until the application drains the stream, so
//    a slow consumer throttles the peer through TCP, never our memory.
//  * Every SYN_STREAM needs a SYN_REPLY (client-go waits 30 s for it) and
//    DATA that arrives before it is dropped, so data on a stream the peer
//    opened is held back until the reply is out. Refusal is a RST_STREAM
//    without reply, as kubelet does (its status is not looked at: we send
//    REFUSED_STREAM, kubelet CANCEL). HEADERS frames are parsed but unused.
//  * A stream ends with an empty DATA frame with FLAG_FIN; RST_STREAM CANCEL
//    aborts it. Its Close() sends GOAWAY and closes the connection once its
//    streams are done; on receiving GOAWAY it stops reading, so nothing may
//    follow our GOAWAY. It pings (client-go's ping period) and answers pings
//    whose id parity is the peer's: odd from clients, even from servers.
//  * Unknown control frame types end its session, so we send none.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/stream/spdy_frame.hpp"
#include "berth/stream/spdy_header_block.hpp"

namespace berth::stream {

namespace detail {
class SpdySessionCore;
struct SpdyStreamState;
}  // namespace detail

// One stream of a session. Thread-safe; a stream may be read by one thread
// while another writes to it. Handles stay valid after the session ends
// (buffered data is still read, then reads return 0 and writes false).
// Dropping the last handle of a stream still open resets it, so that an
// abandoned stream cannot stall the session with data nobody reads.
class SpdyStream {
public:
    SpdyStream(std::shared_ptr<detail::SpdySessionCore> core,
               std::shared_ptr<detail::SpdyStreamState> state);
    ~SpdyStream();
    SpdyStream(const SpdyStream&) = delete;
    SpdyStream& operator=(const SpdyStream&) = delete;

    std::uint32_t id() const;
    // The headers the peer sent: its SYN_STREAM for a stream it opened, its
    // SYN_REPLY for one we opened.
    const SpdyHeaders& headers() const;
    // The first value of `name` (lower case); "" when absent.
    std::string header(std::string_view name) const;

    // Blocks until data, FIN, reset or session end. Returns the bytes read;
    // 0 means no more data, ever. Consuming data reopens the peer's window.
    std::size_t read(char* buffer, std::size_t length);
    // Sends all of `data`, blocking while the peer's flow-control window is
    // exhausted or the socket is full. False when the stream or session is
    // closed or reset, or no progress was possible for write_timeout.
    bool write(std::string_view data);
    // Half-closes our side (empty DATA frame with FLAG_FIN). Idempotent.
    void close_write();
    // Aborts the stream (RST_STREAM). Pending and later reads return 0.
    void reset(std::uint32_t status = kSpdyCancel);

private:
    std::shared_ptr<detail::SpdySessionCore> core_;
    std::shared_ptr<detail::SpdyStreamState> state_;
};

struct SpdySessionOptions {
    // Longest a write waits without progress, on the peer's window or on the
    // socket. A socket timeout ends the session (a frame may be cut short);
    // a window timeout only fails that write. Zero: wait forever.
    std::chrono::milliseconds write_timeout{10000};
    // open_stream(): how long to wait for the peer's SYN_REPLY.
    std::chrono::milliseconds open_timeout{10000};
    // close(): how long to wait for the peer to close after our GOAWAY.
    std::chrono::milliseconds close_timeout{2000};
    // Per-stream receive window we advertise (SETTINGS initial window): also
    // the most we buffer for one stream from a peer that honours it.
    std::uint32_t receive_window = 256 * 1024;
    // SPDY/3.1 session receive window we grant (default is 64 KiB).
    std::uint32_t session_receive_window = 4 * 1024 * 1024;
    // Largest frame accepted; clamped to the 2^24-1 the length field allows.
    std::size_t max_frame_size = 16 << 20;
    // Largest decompressed header block accepted.
    std::size_t max_header_block_size = 256 * 1024;
    // Streams the peer may have open at once; more are refused.
    std::size_t max_concurrent_streams = 128;
};

class SpdySession {
public:
    enum class Role { Client, Server };
    using Options = SpdySessionOptions;
    using StreamHandler = std::function<bool(std::shared_ptr<SpdyStream>)>;

    // Takes ownership of `fd`, a connected socket (closed on error too).
    // `initial_input` holds bytes already read from it past the HTTP upgrade.
    // Throws std::system_error when the fd cannot be set up.
    SpdySession(int fd, Role role, Options options = {}, std::string initial_input = {});
    // close(), then waits for the reader thread.
    ~SpdySession();
    SpdySession(const SpdySession&) = delete;
    SpdySession& operator=(const SpdySession&) = delete;

    // Called on the reader thread for each stream the peer opens; return
    // false to refuse it (RST_STREAM REFUSED_STREAM). It must not block: hand
    // the stream to another thread. Data for a stream nobody reads stalls the
    // whole session once the stream's window is full. Set before start().
    void set_stream_handler(StreamHandler handler);
    // Sends our SETTINGS and session window, then starts the reader thread.
    void start();

    // Opens a stream (SYN_STREAM; client ids odd, server ids even) and waits
    // up to open_timeout for the SYN_REPLY. nullptr when refused, timed out,
    // or the session is closing or over. Throws SpdyHeaderBlockError for an
    // empty header name or a NUL in a name or value.
    std::shared_ptr<SpdyStream> open_stream(const SpdyHeaders& headers);
    // Round trip of a PING; false on timeout or session end.
    bool ping(std::chrono::milliseconds timeout);

    // Graceful end: GOAWAY, shutdown(SHUT_WR), then keep reading (and
    // discarding) until the peer closes or close_timeout passes, so that what
    // we sent is not lost to a TCP RST. Idempotent; waits for the reader
    // thread unless called on it.
    void close();
    // Blocks until the reader thread has ended (peer closed, error, close()).
    void wait_closed();
    // True once close() was called or the session ended.
    bool closed() const;
    // Why the session ended abnormally; "" while running or after a clean end.
    std::string error() const;

private:
    std::shared_ptr<detail::SpdySessionCore> core_;
};

}  // namespace berth::stream
