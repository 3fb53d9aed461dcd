// What travels on the remote-command error and resize streams, both ways:
// from v4 on, the error stream carries one JSON metav1.Status (success, or a
// failure whose NonZeroExitCode cause gives the exit code); before v4 it
// carries a plain error message. Resize messages are a sequence of JSON
// objects {"Width":W,"Height":H}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::stream {

std::string success_status_json();
std::string exit_code_status_json(int exit_code, std::string_view command);
std::string failure_status_json(std::string_view message);

struct CommandOutcome {
    bool success = false;
    std::optional<int> exit_code;  // a command that ran and ended non-zero
    std::string message;           // why it failed, for the user
};

// Reads what the error stream held when it closed. `json_status` for v4 and
// later; for older protocols the text (empty: success) is the message.
CommandOutcome parse_command_outcome(std::string_view content, bool json_status);

struct TerminalSize {
    std::uint16_t width = 0;
    std::uint16_t height = 0;
    bool operator==(const TerminalSize&) const = default;
};

std::string encode_resize(TerminalSize size);

// Splits the resize stream into its JSON objects, whatever the chunking.
class ResizeDecoder {
public:
    // The sizes completed by `data`. Throws std::runtime_error on a malformed
    // message or one larger than a resize message can be.
    std::vector<TerminalSize> feed(std::string_view data);

private:
    std::string pending_;
    int depth_ = 0;
    bool in_string_ = false;
    bool escaped_ = false;
};

}  // namespace berth::stream
