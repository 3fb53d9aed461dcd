// SPDY/3.1 framing: the frame types kubelet's streaming protocols use, their
// encoding, and an incremental decoder that turns a byte stream into whole
// frames. Header blocks stay opaque (compressed) bytes here; see
// spdy_header_block.hpp for their contents.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace berth::stream {

// SPDY/3 and SPDY/3.1 share version number 3 on the wire.
inline constexpr std::uint16_t kSpdyVersion = 3;

// Every frame starts with 8 bytes; the payload length is a 24-bit field.
inline constexpr std::size_t kSpdyFrameHeaderSize = 8;
inline constexpr std::size_t kSpdyMaxFrameLength = (1u << 24) - 1;

// Stream ids, window sizes and deltas are 31-bit numbers.
inline constexpr std::uint32_t kSpdyMaxStreamId = 0x7fffffff;
inline constexpr std::uint32_t kSpdyMaxWindow = 0x7fffffff;
inline constexpr std::uint32_t kSpdyDefaultWindow = 64 * 1024;

enum class SpdyFrameType : std::uint16_t {
    Data = 0,  // not a control type: the frame has the control bit clear
    SynStream = 1,
    SynReply = 2,
    RstStream = 3,
    Settings = 4,
    Ping = 6,
    GoAway = 7,
    Headers = 8,
    WindowUpdate = 9,
};

// FLAG_FIN on DATA, SYN_STREAM, SYN_REPLY and HEADERS.
inline constexpr std::uint8_t kSpdyFlagFin = 0x01;
// SYN_STREAM only: the recipient may not send on this stream.
inline constexpr std::uint8_t kSpdyFlagUnidirectional = 0x02;
// SETTINGS only.
inline constexpr std::uint8_t kSpdyFlagClearSettings = 0x01;

// RST_STREAM status codes.
enum SpdyRstStatus : std::uint32_t {
    kSpdyProtocolError = 1,
    kSpdyInvalidStream = 2,
    kSpdyRefusedStream = 3,
    kSpdyUnsupportedVersion = 4,
    kSpdyCancel = 5,
    kSpdyInternalError = 6,
    kSpdyFlowControlError = 7,
    kSpdyStreamInUse = 8,
    kSpdyStreamAlreadyClosed = 9,
    kSpdyFrameTooLarge = 11,
};

// GOAWAY status codes.
enum SpdyGoAwayStatus : std::uint32_t {
    kSpdyGoAwayOk = 0,
    kSpdyGoAwayProtocolError = 1,
    kSpdyGoAwayInternalError = 2,
};

// SETTINGS ids (the two a session uses; others are carried through).
inline constexpr std::uint32_t kSpdySettingMaxConcurrentStreams = 4;
inline constexpr std::uint32_t kSpdySettingInitialWindowSize = 7;

struct SpdySetting {
    std::uint8_t flags = 0;  // FLAG_SETTINGS_PERSIST_VALUE / _PERSISTED, unused by Berth
    std::uint32_t id = 0;    // 24 bits
    std::uint32_t value = 0;

    bool operator==(const SpdySetting&) const = default;
};

// One decoded frame. Which fields are meaningful depends on `type`:
//   SYN_STREAM     stream_id, associated_stream_id, priority, header_block, flags
//   SYN_REPLY      stream_id, header_block, flags
//   HEADERS        stream_id, header_block, flags
//   RST_STREAM     stream_id, status
//   SETTINGS       settings, flags
//   PING           ping_id
//   GOAWAY         stream_id (the last good stream id), status
//   WINDOW_UPDATE  stream_id (0: the whole session, SPDY/3.1), delta
//   DATA           stream_id, data, flags
struct SpdyFrame {
    SpdyFrameType type = SpdyFrameType::Data;
    std::uint8_t flags = 0;
    std::uint32_t stream_id = 0;
    std::uint32_t associated_stream_id = 0;
    std::uint8_t priority = 0;  // 0 (highest) to 7
    std::uint32_t status = 0;
    std::uint32_t ping_id = 0;
    std::uint32_t delta = 0;
    std::vector<SpdySetting> settings{};
    std::string header_block{};  // zlib-compressed name/value block
    std::string data{};

    bool operator==(const SpdyFrame&) const = default;
};

// A byte stream that is not valid SPDY/3.1. Always fatal for the session:
// after it, frame boundaries (or the header compression state) are lost.
class SpdyProtocolError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Encodes a frame. Throws std::invalid_argument for a frame that cannot be
// represented (payload over 2^24-1 bytes, ids or deltas over 31 bits).
std::string encode_spdy_frame(const SpdyFrame& frame);

// The 8-byte header of a DATA frame, so that a payload can be written from
// the caller's buffer without a copy.
std::array<char, kSpdyFrameHeaderSize> encode_spdy_data_header(std::uint32_t stream_id,
                                                               std::uint8_t flags,
                                                               std::size_t length);

// Incremental decoder: feed() bytes as they arrive, then call next() until it
// returns nullopt. Memory stays bounded: a frame header announcing more than
// `max_frame_length` is rejected before its payload is buffered, so the
// decoder holds at most one frame plus what was fed since.
class SpdyFrameDecoder {
public:
    explicit SpdyFrameDecoder(std::size_t max_frame_length = kSpdyMaxFrameLength);

    void feed(std::string_view bytes);
    // The next whole frame; nullopt when more bytes are needed. Control frames
    // of a type SPDY/3.1 does not define are skipped, as the spec requires.
    // Throws SpdyProtocolError on malformed input; the decoder is unusable after.
    std::optional<SpdyFrame> next();
    // Bytes fed but not yet returned as frames.
    std::size_t buffered() const { return buffer_.size() - offset_; }

private:
    std::size_t max_frame_length_;
    std::string buffer_;
    std::size_t offset_ = 0;
    bool failed_ = false;
};

std::string_view spdy_frame_type_name(SpdyFrameType type);

}  // namespace berth::stream
