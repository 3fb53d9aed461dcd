#include "berth/stream/spdy_frame.hpp"

#include <algorithm>

namespace berth::stream {
namespace {

constexpr std::uint32_t kControlBit = 0x80000000u;
constexpr std::uint32_t kLow31Bits = 0x7fffffffu;

void store_u32(char* out, std::uint32_t value) {
    out[0] = static_cast<char>(value >> 24);
    out[1] = static_cast<char>(value >> 16);
    out[2] = static_cast<char>(value >> 8);
    out[3] = static_cast<char>(value);
}

void put_u32(std::string& out, std::uint32_t value) {
    char bytes[4];
    store_u32(bytes, value);
    out.append(bytes, sizeof bytes);
}

std::uint32_t get_u32(std::string_view bytes, std::size_t at) {
    auto byte = [&](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i]));
    };
    return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

void check_31_bits(std::uint32_t value, const char* what) {
    if (value > kLow31Bits) {
        throw std::invalid_argument(std::string("SPDY ") + what + " does not fit in 31 bits");
    }
}

std::size_t payload_length(const SpdyFrame& frame) {
    switch (frame.type) {
    case SpdyFrameType::Data:
        return frame.data.size();
    case SpdyFrameType::SynStream:
        return 10 + frame.header_block.size();
    case SpdyFrameType::SynReply:
    case SpdyFrameType::Headers:
        return 4 + frame.header_block.size();
    case SpdyFrameType::RstStream:
    case SpdyFrameType::GoAway:
    case SpdyFrameType::WindowUpdate:
        return 8;
    case SpdyFrameType::Settings:
        return 4 + 8 * frame.settings.size();
    case SpdyFrameType::Ping:
        return 4;
    }
    throw std::invalid_argument("unknown SPDY frame type");
}

// Validates what the decoder knows about a control frame before its payload
// is parsed: length rules that do not depend on content.
void check_control_length(SpdyFrameType type, std::size_t length) {
    auto fail = [&](const char* rule) {
        throw SpdyProtocolError(std::string(spdy_frame_type_name(type)) + " frame of length " +
                                std::to_string(length) + ": " + rule);
    };
    switch (type) {
    case SpdyFrameType::SynStream:
        if (length < 10)
            fail("shorter than its fixed fields");
        break;
    case SpdyFrameType::SynReply:
    case SpdyFrameType::Headers:
        if (length < 4)
            fail("shorter than its fixed fields");
        break;
    case SpdyFrameType::RstStream:
    case SpdyFrameType::GoAway:
    case SpdyFrameType::WindowUpdate:
        if (length != 8)
            fail("length must be 8");
        break;
    case SpdyFrameType::Ping:
        if (length != 4)
            fail("length must be 4");
        break;
    case SpdyFrameType::Settings:
        if (length < 4)
            fail("shorter than its entry count");
        break;
    case SpdyFrameType::Data:
        break;
    }
}

bool is_known_control_type(std::uint16_t type) {
    switch (static_cast<SpdyFrameType>(type)) {
    case SpdyFrameType::SynStream:
    case SpdyFrameType::SynReply:
    case SpdyFrameType::RstStream:
    case SpdyFrameType::Settings:
    case SpdyFrameType::Ping:
    case SpdyFrameType::GoAway:
    case SpdyFrameType::Headers:
    case SpdyFrameType::WindowUpdate:
        return true;
    case SpdyFrameType::Data:
        return false;
    }
    return false;
}

SpdyFrame parse_control(SpdyFrameType type, std::uint8_t flags, std::string_view payload) {
    SpdyFrame frame;
    frame.type = type;
    frame.flags = flags;
    auto require_stream_id = [&]() {
        if (frame.stream_id == 0) {
            throw SpdyProtocolError(std::string(spdy_frame_type_name(type)) +
                                    " frame with stream id 0");
        }
    };
    switch (type) {
    case SpdyFrameType::SynStream:
        frame.stream_id = get_u32(payload, 0) & kLow31Bits;
        frame.associated_stream_id = get_u32(payload, 4) & kLow31Bits;
        frame.priority = static_cast<std::uint8_t>(static_cast<unsigned char>(payload[8]) >> 5);
        // payload[9] was the CREDENTIAL slot in SPDY/3 and is unused in 3.1.
        frame.header_block.assign(payload.substr(10));
        require_stream_id();
        break;
    case SpdyFrameType::SynReply:
    case SpdyFrameType::Headers:
        frame.stream_id = get_u32(payload, 0) & kLow31Bits;
        frame.header_block.assign(payload.substr(4));
        require_stream_id();
        break;
    case SpdyFrameType::RstStream:
        frame.stream_id = get_u32(payload, 0) & kLow31Bits;
        frame.status = get_u32(payload, 4);
        require_stream_id();
        if (frame.status == 0)
            throw SpdyProtocolError("RST_STREAM with status 0");
        break;
    case SpdyFrameType::Settings: {
        std::uint32_t count = get_u32(payload, 0);
        // Compare in 64 bits: a hostile count times 8 must not wrap around.
        if (std::uint64_t{count} * 8 + 4 != payload.size()) {
            throw SpdyProtocolError("SETTINGS frame: " + std::to_string(count) +
                                    " entries do not match its length " +
                                    std::to_string(payload.size()));
        }
        frame.settings.reserve(count);
        for (std::size_t at = 4; at < payload.size(); at += 8) {
            std::uint32_t flags_and_id = get_u32(payload, at);
            frame.settings.push_back(SpdySetting{static_cast<std::uint8_t>(flags_and_id >> 24),
                                                 flags_and_id & 0xffffff,
                                                 get_u32(payload, at + 4)});
        }
        break;
    }
    case SpdyFrameType::Ping:
        frame.ping_id = get_u32(payload, 0);
        break;
    case SpdyFrameType::GoAway:
        frame.stream_id = get_u32(payload, 0) & kLow31Bits;
        frame.status = get_u32(payload, 4);
        break;
    case SpdyFrameType::WindowUpdate:
        frame.stream_id = get_u32(payload, 0) & kLow31Bits;
        frame.delta = get_u32(payload, 4) & kLow31Bits;
        if (frame.delta == 0)
            throw SpdyProtocolError("WINDOW_UPDATE with delta 0");
        break;
    case SpdyFrameType::Data:
        break;
    }
    return frame;
}

}  // namespace

std::string_view spdy_frame_type_name(SpdyFrameType type) {
    switch (type) {
    case SpdyFrameType::Data:
        return "DATA";
    case SpdyFrameType::SynStream:
        return "SYN_STREAM";
    case SpdyFrameType::SynReply:
        return "SYN_REPLY";
    case SpdyFrameType::RstStream:
        return "RST_STREAM";
    case SpdyFrameType::Settings:
        return "SETTINGS";
    case SpdyFrameType::Ping:
        return "PING";
    case SpdyFrameType::GoAway:
        return "GOAWAY";
    case SpdyFrameType::Headers:
        return "HEADERS";
    case SpdyFrameType::WindowUpdate:
        return "WINDOW_UPDATE";
    }
    return "UNKNOWN";
}

std::array<char, kSpdyFrameHeaderSize> encode_spdy_data_header(std::uint32_t stream_id,
                                                               std::uint8_t flags,
                                                               std::size_t length) {
    check_31_bits(stream_id, "stream id");
    if (length > kSpdyMaxFrameLength) {
        throw std::invalid_argument("SPDY DATA payload of " + std::to_string(length) +
                                    " bytes exceeds the 24-bit length field");
    }
    std::array<char, kSpdyFrameHeaderSize> header{};
    store_u32(header.data(), stream_id);
    store_u32(header.data() + 4, std::uint32_t{flags} << 24 | static_cast<std::uint32_t>(length));
    return header;
}

std::string encode_spdy_frame(const SpdyFrame& frame) {
    std::size_t length = payload_length(frame);
    if (length > kSpdyMaxFrameLength) {
        throw std::invalid_argument(std::string("SPDY ") +
                                    std::string(spdy_frame_type_name(frame.type)) + " payload of " +
                                    std::to_string(length) + " bytes exceeds the 24-bit length");
    }
    if (frame.type == SpdyFrameType::Data) {
        auto header = encode_spdy_data_header(frame.stream_id, frame.flags, length);
        std::string out(header.begin(), header.end());
        out += frame.data;
        return out;
    }

    std::string out;
    out.reserve(kSpdyFrameHeaderSize + length);
    put_u32(out, kControlBit | std::uint32_t{kSpdyVersion} << 16 |
                     static_cast<std::uint16_t>(frame.type));
    put_u32(out, std::uint32_t{frame.flags} << 24 | static_cast<std::uint32_t>(length));
    switch (frame.type) {
    case SpdyFrameType::SynStream:
        check_31_bits(frame.stream_id, "stream id");
        check_31_bits(frame.associated_stream_id, "associated stream id");
        if (frame.priority > 7)
            throw std::invalid_argument("SPDY priority must be 0 to 7");
        put_u32(out, frame.stream_id);
        put_u32(out, frame.associated_stream_id);
        out.push_back(static_cast<char>(frame.priority << 5));
        out.push_back('\0');
        out += frame.header_block;
        break;
    case SpdyFrameType::SynReply:
    case SpdyFrameType::Headers:
        check_31_bits(frame.stream_id, "stream id");
        put_u32(out, frame.stream_id);
        out += frame.header_block;
        break;
    case SpdyFrameType::RstStream:
    case SpdyFrameType::GoAway:
        check_31_bits(frame.stream_id, "stream id");
        put_u32(out, frame.stream_id);
        put_u32(out, frame.status);
        break;
    case SpdyFrameType::Settings:
        put_u32(out, static_cast<std::uint32_t>(frame.settings.size()));
        for (const auto& setting : frame.settings) {
            if (setting.id > 0xffffff)
                throw std::invalid_argument("SPDY setting id over 24 bits");
            put_u32(out, std::uint32_t{setting.flags} << 24 | setting.id);
            put_u32(out, setting.value);
        }
        break;
    case SpdyFrameType::Ping:
        put_u32(out, frame.ping_id);
        break;
    case SpdyFrameType::WindowUpdate:
        check_31_bits(frame.stream_id, "stream id");
        check_31_bits(frame.delta, "window delta");
        put_u32(out, frame.stream_id);
        put_u32(out, frame.delta);
        break;
    case SpdyFrameType::Data:
        break;
    }
    return out;
}

SpdyFrameDecoder::SpdyFrameDecoder(std::size_t max_frame_length)
    : max_frame_length_(std::min(max_frame_length, kSpdyMaxFrameLength)) {}

void SpdyFrameDecoder::feed(std::string_view bytes) {
    // Drop what was consumed before growing, so the buffer never holds more
    // than the current frame and the bytes fed after it.
    if (offset_ > 0 && (offset_ == buffer_.size() || offset_ >= buffer_.size() / 2)) {
        buffer_.erase(0, offset_);
        offset_ = 0;
    }
    buffer_.append(bytes);
}

std::optional<SpdyFrame> SpdyFrameDecoder::next() {
    if (failed_)
        throw SpdyProtocolError("SPDY decoder used after a protocol error");
    try {
        for (;;) {
            std::string_view pending(buffer_.data() + offset_, buffer_.size() - offset_);
            if (pending.size() < kSpdyFrameHeaderSize)
                return std::nullopt;

            std::uint32_t first = get_u32(pending, 0);
            std::uint32_t second = get_u32(pending, 4);
            auto flags = static_cast<std::uint8_t>(second >> 24);
            std::size_t length = second & 0xffffff;
            bool control = (first & kControlBit) != 0;
            std::uint16_t control_type = static_cast<std::uint16_t>(first & 0xffff);

            if (control) {
                auto version = static_cast<std::uint16_t>((first >> 16) & 0x7fff);
                if (version != kSpdyVersion) {
                    throw SpdyProtocolError("unsupported SPDY version " + std::to_string(version));
                }
                // Fixed-size frames are checked before waiting for a payload
                // that a bogus length could make us wait for forever.
                if (is_known_control_type(control_type)) {
                    check_control_length(static_cast<SpdyFrameType>(control_type), length);
                }
            }
            if (length > max_frame_length_) {
                throw SpdyProtocolError("SPDY frame of " + std::to_string(length) +
                                        " bytes exceeds the limit of " +
                                        std::to_string(max_frame_length_));
            }
            if (pending.size() < kSpdyFrameHeaderSize + length)
                return std::nullopt;

            std::string_view payload = pending.substr(kSpdyFrameHeaderSize, length);
            offset_ += kSpdyFrameHeaderSize + length;

            if (!control) {
                SpdyFrame frame;
                frame.type = SpdyFrameType::Data;
                frame.stream_id = first & kLow31Bits;
                frame.flags = flags;
                if (frame.stream_id == 0)
                    throw SpdyProtocolError("DATA frame with stream id 0");
                frame.data.assign(payload);
                return frame;
            }
            if (!is_known_control_type(control_type))
                continue;
            return parse_control(static_cast<SpdyFrameType>(control_type), flags, payload);
        }
    } catch (const SpdyProtocolError&) {
        failed_ = true;
        throw;
    }
}

}  // namespace berth::stream
