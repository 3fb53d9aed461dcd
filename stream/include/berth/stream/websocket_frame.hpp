// WebSocket frames (RFC 6455 section 5): encoding, masking, and an
// incremental decoder that checks every rule a receiver must enforce, so that
// bytes from the network can be fed to it without any trust.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::stream {

enum class WebSocketOpcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// Which end of the connection this side is: it decides who masks (clients
// always, servers never) and so what a receiver must insist on.
enum class WebSocketRole { Client, Server };

// Status codes of a Close frame (RFC 6455 section 7.4.1) that Berth uses.
namespace close_code {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kUnsupportedData = 1003;
inline constexpr std::uint16_t kNoStatus = 1005;  // never on the wire: an empty Close payload
inline constexpr std::uint16_t kAbnormal = 1006;  // never on the wire: no Close frame at all
inline constexpr std::uint16_t kInvalidPayload = 1007;
inline constexpr std::uint16_t kPolicyViolation = 1008;
inline constexpr std::uint16_t kMessageTooBig = 1009;
inline constexpr std::uint16_t kInternalError = 1011;
}  // namespace close_code

inline constexpr std::size_t kMaxControlPayload = 125;

using WebSocketMaskKey = std::array<std::uint8_t, 4>;

// A decoded frame; `payload` is already unmasked.
struct WebSocketFrame {
    bool fin = true;
    WebSocketOpcode opcode = WebSocketOpcode::Binary;
    std::string payload;
};

// Close (0x8), Ping (0x9) and Pong (0xA): at most 125 bytes, never fragmented.
bool is_control_opcode(WebSocketOpcode opcode);

// Appends one frame to `out`. RSV bits are always 0 (Berth negotiates no
// extension). With `mask` the MASK bit is set and the payload masked with it.
void encode_websocket_frame(std::string& out, WebSocketOpcode opcode, std::string_view payload,
                            bool fin = true, const WebSocketMaskKey* mask = nullptr);
std::string encode_websocket_frame(WebSocketOpcode opcode, std::string_view payload,
                                   bool fin = true, const WebSocketMaskKey* mask = nullptr);

// XORs `size` bytes with the key; `offset` is the position of data[0] within
// the payload, so a payload can be (un)masked in pieces. Its own inverse.
void apply_websocket_mask(char* data, std::size_t size, const WebSocketMaskKey& key,
                          std::size_t offset = 0);

// A mask key from the OpenSSL random generator: RFC 6455 wants it
// unpredictable, so that a client cannot steer the bytes on the wire.
WebSocketMaskKey random_websocket_mask_key();

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF),
// as text messages and close reasons must be.
bool is_valid_utf8(std::string_view text);

// The payload of a Close frame: code and reason. The reason is cut at a
// character boundary so that the payload fits a control frame.
struct WebSocketCloseStatus {
    std::uint16_t code = close_code::kNoStatus;
    std::string reason;
};
std::string encode_close_payload(std::uint16_t code, std::string_view reason);
// nullopt when the payload breaks RFC 6455 section 5.5.1 / 7.4: one byte
// long, a code that may not be sent, or a reason that is not UTF-8. An empty
// payload decodes as kNoStatus.
std::optional<WebSocketCloseStatus> parse_close_payload(std::string_view payload);
// Whether `code` may appear in a Close frame on the wire.
bool is_sendable_close_code(std::uint16_t code);

// Feed bytes as they arrive, take whole frames out. After the first
// violation the decoder stays failed; error() tells why and which close code
// to answer with. Memory is bounded: a frame header announcing more than
// `max_payload` bytes is refused before any of it is buffered.
class WebSocketFrameDecoder {
public:
    struct Error {
        std::uint16_t close_code = close_code::kProtocolError;
        std::string message;
    };

    // `local_role` is this side: a server refuses unmasked frames, a client
    // refuses masked ones.
    WebSocketFrameDecoder(WebSocketRole local_role, std::size_t max_payload);

    void feed(std::string_view bytes);
    // The next whole frame; nullopt when more bytes are needed or the input
    // was invalid (then failed() is true).
    std::optional<WebSocketFrame> next();

    bool failed() const { return error_.has_value(); }
    const std::optional<Error>& error() const { return error_; }
    // Bytes fed but not yet returned as frames.
    std::size_t buffered() const { return buffer_.size() - consumed_; }

private:
    std::optional<WebSocketFrame> fail(std::uint16_t code, std::string message);

    WebSocketRole local_role_;
    std::size_t max_payload_;
    std::string buffer_;
    // Start of the unread bytes in buffer_: erasing from the front on every
    // frame would make a stream of small frames quadratic.
    std::size_t consumed_ = 0;
    std::optional<Error> error_;
};

}  // namespace berth::stream
