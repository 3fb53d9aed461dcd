// ttrpc's framing: how containerd shims and their clients cut one unix-socket
// byte stream into messages. Every message is a 10-byte header followed by
// its payload:
//
//   bytes 0-3  payload length, big-endian (the header not included)
//   bytes 4-7  stream id, big-endian (odd for client-initiated calls)
//   byte  8    message type (1 request, 2 response, 3 data)
//   byte  9    flags (none used by unary calls)
//
// Kept apart from the client so that the byte layout can be tested without a
// socket.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace berth::oci::ttrpc {

inline constexpr std::size_t kHeaderSize = 10;
// The limit of containerd's ttrpc (messageLengthMax). A larger length is never
// allocated: it can only come from a confused or hostile peer.
inline constexpr std::uint32_t kMaxPayload = 4u << 20;

inline constexpr std::uint8_t kTypeRequest = 1;
inline constexpr std::uint8_t kTypeResponse = 2;
inline constexpr std::uint8_t kTypeData = 3;  // streaming RPCs; unary calls never expect one

// What went wrong with a call, with the gRPC code that best describes it so
// that the VM runtime can map a shim's answer onto the CRI's errors.
class Error : public std::runtime_error {
public:
    enum class Kind {
        Closed,    // the connection is gone (or was never made): UNAVAILABLE (14)
        Timeout,   // no answer in time: DEADLINE_EXCEEDED (4)
        Status,    // the shim answered with a non-OK google.rpc.Status: its code
        Protocol,  // bytes that are not ttrpc, or an unparsable message: INTERNAL (13)
    };

    Error(Kind kind, const std::string& message, int status_code = 0);
    Kind kind() const { return kind_; }
    int status_code() const { return status_code_; }

private:
    Kind kind_;
    int status_code_;
};

struct FrameHeader {
    std::uint32_t length = 0;
    std::uint32_t stream_id = 0;
    std::uint8_t type = 0;
    std::uint8_t flags = 0;
};

struct Frame {
    FrameHeader header;
    std::string payload;
};

std::array<std::uint8_t, kHeaderSize> encode_header(const FrameHeader& header);
// Reads exactly kHeaderSize bytes at `bytes`. Does not check the length.
FrameHeader decode_header(const std::uint8_t* bytes);

// Header and payload as one buffer, ready for a single write. Throws
// Error(Protocol) when the payload is over kMaxPayload: the peer would drop
// the connection instead of answering.
std::string encode_frame(std::uint32_t stream_id, std::uint8_t type, std::string_view payload);

// The frame of one unary call: a ttrpc.Request carrying `payload` for
// service/method. A positive timeout travels as timeout_nano, so that the
// shim gives up on its side when the caller does.
std::string encode_request_frame(std::uint32_t stream_id, const std::string& service,
                                 const std::string& method, const std::string& payload,
                                 std::chrono::milliseconds timeout);

// Reassembles frames from reads of any size: feed() whatever arrived, then
// call next() until it returns nothing. next() throws Error(Protocol) as soon
// as a header announces more than kMaxPayload, before any of that payload is
// buffered, so memory stays bounded by one legal frame plus one read.
class FrameDecoder {
public:
    void feed(const void* data, std::size_t size);
    std::optional<Frame> next();
    // Bytes received but not yet returned as a frame: non-zero at end of
    // stream means the peer stopped in the middle of a frame.
    std::size_t buffered() const { return buffer_.size() - offset_; }

private:
    std::string buffer_;
    std::size_t offset_ = 0;  // start of the first unconsumed byte in buffer_
};

}  // namespace berth::oci::ttrpc
