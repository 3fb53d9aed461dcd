// How an error message echoes a value from a request.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace berth::daemon {

// A value from a request, as an error message may echo it: in quotes, with
// control characters, quotes and bytes above ASCII escaped (the message stays
// one line of text), and at most `limit` bytes of it (a 10 KB name would
// otherwise overflow gRPC's metadata limit and reach the client as
// RESOURCE_EXHAUSTED instead of the error).
inline std::string quoted_value(std::string_view value, std::size_t limit = 200) {
    std::string out = "\"";
    for (std::size_t i = 0; i < value.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
    if (value.size() > limit)
        out += " (" + std::to_string(value.size()) + " bytes, cut)";
    return out;
}

}  // namespace berth::daemon
