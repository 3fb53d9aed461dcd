#include "ttrpc/frame.hpp"

#include <berth/shim_api.hpp>

namespace berth::oci::ttrpc {

namespace {

int default_code(Error::Kind kind, int status_code) {
    switch (kind) {
    case Error::Kind::Closed:
        return 14;  // UNAVAILABLE
    case Error::Kind::Timeout:
        return 4;  // DEADLINE_EXCEEDED
    case Error::Kind::Protocol:
        return 13;  // INTERNAL
    case Error::Kind::Status:
        return status_code;
    }
    return status_code;
}

void put_be32(std::uint8_t* out, std::uint32_t value) {
    out[0] = static_cast<std::uint8_t>(value >> 24);
    out[1] = static_cast<std::uint8_t>(value >> 16);
    out[2] = static_cast<std::uint8_t>(value >> 8);
    out[3] = static_cast<std::uint8_t>(value);
}

std::uint32_t get_be32(const std::uint8_t* in) {
    return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) |
           (std::uint32_t{in[2]} << 8) | std::uint32_t{in[3]};
}

}  // namespace

Error::Error(Kind kind, const std::string& message, int status_code)
    : std::runtime_error(message), kind_(kind), status_code_(default_code(kind, status_code)) {}

std::array<std::uint8_t, kHeaderSize> encode_header(const FrameHeader& header) {
    std::array<std::uint8_t, kHeaderSize> bytes{};
    put_be32(bytes.data(), header.length);
    put_be32(bytes.data() + 4, header.stream_id);
    bytes[8] = header.type;
    bytes[9] = header.flags;
    return bytes;
}

FrameHeader decode_header(const std::uint8_t* bytes) {
    FrameHeader header;
    header.length = get_be32(bytes);
    header.stream_id = get_be32(bytes + 4);
    header.type = bytes[8];
    header.flags = bytes[9];
    return header;
}

std::string encode_frame(std::uint32_t stream_id, std::uint8_t type, std::string_view payload) {
    if (payload.size() > kMaxPayload) {
        throw Error(Error::Kind::Protocol, "ttrpc message of " + std::to_string(payload.size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(kMaxPayload));
    }
    FrameHeader header;
    header.length = static_cast<std::uint32_t>(payload.size());
    header.stream_id = stream_id;
    header.type = type;
    const auto head = encode_header(header);
    std::string frame;
    frame.reserve(kHeaderSize + payload.size());
    frame.append(reinterpret_cast<const char*>(head.data()), head.size());
    frame.append(payload);
    return frame;
}

std::string encode_request_frame(std::uint32_t stream_id, const std::string& service,
                                 const std::string& method, const std::string& payload,
                                 std::chrono::milliseconds timeout) {
    ::ttrpc::Request request;
    request.set_service(service);
    request.set_method(method);
    request.set_payload(payload);
    if (timeout.count() > 0) {
        request.set_timeout_nano(std::chrono::nanoseconds(timeout).count());
    }
    std::string bytes;
    if (!request.SerializeToString(&bytes)) {
        throw Error(Error::Kind::Protocol,
                    "cannot serialize the ttrpc request for " + service + "/" + method);
    }
    return encode_frame(stream_id, kTypeRequest, bytes);
}

void FrameDecoder::feed(const void* data, std::size_t size) {
    // Drop what next() has consumed once it dominates, instead of on every
    // frame: many small frames in one read are then not copied over and over.
    if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
        buffer_.erase(0, offset_);
        offset_ = 0;
    }
    buffer_.append(static_cast<const char*>(data), size);
}

std::optional<Frame> FrameDecoder::next() {
    if (buffered() < kHeaderSize) {
        return std::nullopt;
    }
    const auto* start = reinterpret_cast<const std::uint8_t*>(buffer_.data() + offset_);
    Frame frame;
    frame.header = decode_header(start);
    if (frame.header.length > kMaxPayload) {
        throw Error(Error::Kind::Protocol,
                    "frame of " + std::to_string(frame.header.length) + " bytes on stream " +
                        std::to_string(frame.header.stream_id) + " exceeds the limit of " +
                        std::to_string(kMaxPayload));
    }
    if (buffered() - kHeaderSize < frame.header.length) {
        return std::nullopt;
    }
    frame.payload.assign(buffer_, offset_ + kHeaderSize, frame.header.length);
    offset_ += kHeaderSize + frame.header.length;
    if (offset_ == buffer_.size()) {
        buffer_.clear();
        offset_ = 0;
    }
    return frame;
}

}  // namespace berth::oci::ttrpc
