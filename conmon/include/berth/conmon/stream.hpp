// The container's output streams. The values are the attach protocol's
// stream bytes, shared with conmon's attach protocol.
#pragma once

namespace berth::conmon {

enum class Stream : unsigned char { kStdout = 2, kStderr = 3 };

inline const char* stream_name(Stream stream) {
    return stream == Stream::kStdout ? "stdout" : "stderr";
}

}  // namespace berth::conmon
