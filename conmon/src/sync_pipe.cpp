#include "sync_pipe.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace berth::conmon {

namespace {

// JSON string escaping: quotes, backslashes and control characters. Other
// bytes pass through (the runtime's messages are UTF-8 text).
std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (const char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
                out += escaped;
            } else {
                out += c;
            }
        }
    }
    return out;
}

std::string_view trim(std::string_view text) {
    const auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

}  // namespace

void SyncPipe::report_pid(pid_t pid) {
    send_and_close("{\"pid\":" + std::to_string(pid) + "}\n");
}

void SyncPipe::report_error(std::string_view message) {
    send_and_close("{\"pid\":-1,\"message\":\"" + json_escape(trim(message)) + "\"}\n");
}

void SyncPipe::send_and_close(std::string_view line) {
    if (!fd_) {
        return;  // already reported, or berthd gave us none
    }
    while (!line.empty()) {
        const ssize_t written = ::write(fd_.get(), line.data(), line.size());
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written <= 0) {
            break;  // berthd is gone: nobody left to tell
        }
        line.remove_prefix(static_cast<size_t>(written));
    }
    fd_.reset();
}

}  // namespace berth::conmon
