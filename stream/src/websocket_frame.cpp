#include "berth/stream/websocket_frame.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace berth::stream {

namespace {

constexpr std::uint8_t kFinBit = 0x80;
constexpr std::uint8_t kRsvBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLength7Bits = 0x7F;
constexpr std::uint8_t kLength16 = 126;
constexpr std::uint8_t kLength64 = 127;
constexpr std::size_t kKeptBufferCapacity = 256 * 1024;

bool is_known_opcode(std::uint8_t opcode) {
    switch (static_cast<WebSocketOpcode>(opcode)) {
    case WebSocketOpcode::Continuation:
    case WebSocketOpcode::Text:
    case WebSocketOpcode::Binary:
    case WebSocketOpcode::Close:
    case WebSocketOpcode::Ping:
    case WebSocketOpcode::Pong:
        return true;
    }
    return false;
}

std::uint8_t byte_at(std::string_view data, std::size_t index) {
    return static_cast<std::uint8_t>(data[index]);
}

}  // namespace

bool is_control_opcode(WebSocketOpcode opcode) {
    return (static_cast<std::uint8_t>(opcode) & 0x08) != 0;
}

void encode_websocket_frame(std::string& out, WebSocketOpcode opcode, std::string_view payload,
                            bool fin, const WebSocketMaskKey* mask) {
    const std::size_t start = out.size();
    out.reserve(start + 14 + payload.size());
    out.push_back(static_cast<char>((fin ? kFinBit : 0) | static_cast<std::uint8_t>(opcode)));
    const std::uint8_t mask_bit = mask != nullptr ? kMaskBit : 0;
    const std::uint64_t size = payload.size();
    // The RFC requires the shortest length form, so peers may reject others.
    if (size < kLength16) {
        out.push_back(static_cast<char>(mask_bit | size));
    } else if (size <= 0xFFFF) {
        out.push_back(static_cast<char>(mask_bit | kLength16));
        out.push_back(static_cast<char>(size >> 8));
        out.push_back(static_cast<char>(size & 0xFF));
    } else {
        out.push_back(static_cast<char>(mask_bit | kLength64));
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((size >> shift) & 0xFF));
        }
    }
    if (mask != nullptr) {
        out.append(reinterpret_cast<const char*>(mask->data()), mask->size());
    }
    const std::size_t payload_start = out.size();
    out.append(payload);
    if (mask != nullptr) {
        apply_websocket_mask(out.data() + payload_start, payload.size(), *mask);
    }
}

std::string encode_websocket_frame(WebSocketOpcode opcode, std::string_view payload, bool fin,
                                   const WebSocketMaskKey* mask) {
    std::string out;
    encode_websocket_frame(out, opcode, payload, fin, mask);
    return out;
}

void apply_websocket_mask(char* data, std::size_t size, const WebSocketMaskKey& key,
                          std::size_t offset) {
    for (std::size_t i = 0; i < size; ++i) {
        data[i] = static_cast<char>(static_cast<std::uint8_t>(data[i]) ^ key[(offset + i) & 3]);
    }
}

WebSocketMaskKey random_websocket_mask_key() {
    WebSocketMaskKey key{};
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
        throw std::runtime_error("OpenSSL random generator failed");
    }
    return key;
}

bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const std::uint8_t lead = byte_at(text, i);
        if (lead < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code_point = 0;
        std::uint32_t minimum = 0;
        if ((lead & 0xE0) == 0xC0) {
            length = 2;
            code_point = lead & 0x1F;
            minimum = 0x80;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3;
            code_point = lead & 0x0F;
            minimum = 0x800;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4;
            code_point = lead & 0x07;
            minimum = 0x10000;
        } else {
            return false;
        }
        if (text.size() - i < length) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            const std::uint8_t next = byte_at(text, i + k);
            if ((next & 0xC0) != 0x80) {
                return false;
            }
            code_point = (code_point << 6) | (next & 0x3F);
        }
        if (code_point < minimum || code_point > 0x10FFFF ||
            (code_point >= 0xD800 && code_point <= 0xDFFF)) {
            return false;
        }
        i += length;
    }
    return true;
}

bool is_sendable_close_code(std::uint16_t code) {
    // 1004 is reserved, 1005/1006/1015 only describe what happened locally;
    // 1012-1014 were registered with IANA after the RFC and are in use.
    if (code >= 1000 && code <= 1003)
        return true;
    if (code >= 1007 && code <= 1014)
        return true;
    return code >= 3000 && code <= 4999;
}

std::string encode_close_payload(std::uint16_t code, std::string_view reason) {
    std::string payload;
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xFF));
    std::size_t room = kMaxControlPayload - payload.size();
    if (reason.size() > room) {
        // Back up to a lead byte so the cut reason is still valid UTF-8.
        while (room > 0 && (byte_at(reason, room) & 0xC0) == 0x80) {
            --room;
        }
        reason = reason.substr(0, room);
    }
    payload.append(reason);
    return payload;
}

std::optional<WebSocketCloseStatus> parse_close_payload(std::string_view payload) {
    if (payload.empty()) {
        return WebSocketCloseStatus{};
    }
    if (payload.size() < 2) {
        return std::nullopt;
    }
    WebSocketCloseStatus status;
    status.code = static_cast<std::uint16_t>((byte_at(payload, 0) << 8) | byte_at(payload, 1));
    if (!is_sendable_close_code(status.code)) {
        return std::nullopt;
    }
    const std::string_view reason = payload.substr(2);
    if (!is_valid_utf8(reason)) {
        return std::nullopt;
    }
    status.reason = std::string(reason);
    return status;
}

WebSocketFrameDecoder::WebSocketFrameDecoder(WebSocketRole local_role, std::size_t max_payload)
    : local_role_(local_role), max_payload_(max_payload) {}

void WebSocketFrameDecoder::feed(std::string_view bytes) {
    if (failed()) {
        return;  // nothing after a violation can be trusted; keep no memory for it
    }
    // Drop what has been returned before growing, once it is worth a copy.
    if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ >= buffer_.size() / 2)) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
    }
    buffer_.append(bytes);
}

std::optional<WebSocketFrame> WebSocketFrameDecoder::fail(std::uint16_t code, std::string message) {
    error_ = Error{code, std::move(message)};
    buffer_.clear();
    buffer_.shrink_to_fit();
    consumed_ = 0;
    return std::nullopt;
}

std::optional<WebSocketFrame> WebSocketFrameDecoder::next() {
    if (failed()) {
        return std::nullopt;
    }
    const std::string_view data = std::string_view(buffer_).substr(consumed_);
    if (data.size() < 2) {
        return std::nullopt;
    }
    const std::uint8_t first = byte_at(data, 0);
    const std::uint8_t second = byte_at(data, 1);
    // Every check that needs only the first two bytes comes first, so that a
    // bad frame is refused before its length is even looked at.
    if ((first & kRsvBits) != 0) {
        return fail(close_code::kProtocolError, "reserved bits set without a negotiated extension");
    }
    const std::uint8_t raw_opcode = first & kOpcodeBits;
    if (!is_known_opcode(raw_opcode)) {
        return fail(close_code::kProtocolError,
                    "reserved opcode 0x" + std::string(1, "0123456789abcdef"[raw_opcode]));
    }
    const auto opcode = static_cast<WebSocketOpcode>(raw_opcode);
    const bool fin = (first & kFinBit) != 0;
    const bool masked = (second & kMaskBit) != 0;
    if (is_control_opcode(opcode) && !fin) {
        return fail(close_code::kProtocolError, "fragmented control frame");
    }
    if (local_role_ == WebSocketRole::Server && !masked) {
        return fail(close_code::kProtocolError, "unmasked frame from a client");
    }
    if (local_role_ == WebSocketRole::Client && masked) {
        return fail(close_code::kProtocolError, "masked frame from a server");
    }

    const std::uint8_t length7 = second & kLength7Bits;
    std::size_t header_size = 2;
    std::uint64_t length = length7;
    if (length7 == kLength16) {
        header_size = 4;
        if (data.size() < header_size)
            return std::nullopt;
        length = (std::uint64_t{byte_at(data, 2)} << 8) | byte_at(data, 3);
    } else if (length7 == kLength64) {
        header_size = 10;
        if (data.size() < header_size)
            return std::nullopt;
        length = 0;
        for (std::size_t i = 2; i < 10; ++i) {
            length = (length << 8) | byte_at(data, i);
        }
        if ((length >> 63) != 0) {
            return fail(close_code::kProtocolError, "payload length with the top bit set");
        }
    }
    if (is_control_opcode(opcode) && length > kMaxControlPayload) {
        return fail(close_code::kProtocolError, "control frame longer than 125 bytes");
    }
    if (length > max_payload_) {
        return fail(close_code::kMessageTooBig, "frame payload of " + std::to_string(length) +
                                                    " bytes exceeds the limit of " +
                                                    std::to_string(max_payload_));
    }
    WebSocketMaskKey key{};
    if (masked) {
        if (data.size() < header_size + key.size())
            return std::nullopt;
        for (std::size_t i = 0; i < key.size(); ++i) {
            key[i] = byte_at(data, header_size + i);
        }
        header_size += key.size();
    }
    // length <= max_payload_ (a size_t), so the sum cannot overflow in practice;
    // compare without adding anyway.
    if (data.size() - header_size < length) {
        return std::nullopt;
    }
    WebSocketFrame frame;
    frame.fin = fin;
    frame.opcode = opcode;
    frame.payload.assign(data.substr(header_size, static_cast<std::size_t>(length)));
    if (masked) {
        apply_websocket_mask(frame.payload.data(), frame.payload.size(), key);
    }
    consumed_ += header_size + static_cast<std::size_t>(length);
    if (consumed_ == buffer_.size()) {
        buffer_.clear();
        consumed_ = 0;
        // One large frame should not pin its buffer for the connection's life.
        if (buffer_.capacity() > kKeptBufferCapacity) {
            buffer_.shrink_to_fit();
        }
    }
    return frame;
}

}  // namespace berth::stream
