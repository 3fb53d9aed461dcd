// A deliberately tiny protobuf encoder, written from the wire-format rules
// alone (varints, tags, length-delimited fields). The wire test builds the
// bytes a message must have from the upstream field numbers with it, and
// compares them with what the generated code produces.
#pragma once

#include <cstdint>
#include <string>

namespace berth::test::wire {

inline std::string varint(std::uint64_t value) {
    std::string out;
    do {
        std::uint8_t byte = value & 0x7f;
        value >>= 7;
        if (value != 0) {
            byte |= 0x80;
        }
        out.push_back(static_cast<char>(byte));
    } while (value != 0);
    return out;
}

inline std::string tag(std::uint32_t field, std::uint32_t wire_type) {
    return varint((static_cast<std::uint64_t>(field) << 3) | wire_type);
}

// Wire type 0: int32/int64/uint32/bool/enum. Negative int64 is sent as its
// two's complement, ten bytes long.
inline std::string number(std::uint32_t field, std::int64_t value) {
    return tag(field, 0) + varint(static_cast<std::uint64_t>(value));
}

// Wire type 2: strings, bytes, embedded messages, map entries.
inline std::string bytes(std::uint32_t field, const std::string& payload) {
    return tag(field, 2) + varint(payload.size()) + payload;
}

// A map<string,string> entry is an embedded message {key = 1, value = 2}.
inline std::string map_entry(std::uint32_t field, const std::string& key,
                             const std::string& value) {
    return bytes(field, bytes(1, key) + bytes(2, value));
}

}  // namespace berth::test::wire
