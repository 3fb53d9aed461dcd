#include "berth/stream/remote_command_status.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace berth::stream {

namespace {

// A resize message is two small numbers; anything this long is not one.
constexpr std::size_t kMaxResizeMessage = 1024;

std::uint16_t dimension(const nlohmann::json& message, const char* key) {
    const auto value = message.value(key, 0LL);
    if (value < 0 || value > 0xffff)
        throw std::runtime_error(std::string("resize: ") + key + " out of range");
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string success_status_json() {
    return nlohmann::json{{"metadata", nlohmann::json::object()}, {"status", "Success"}}.dump();
}

std::string exit_code_status_json(int exit_code, std::string_view command) {
    const std::string code = std::to_string(exit_code);
    nlohmann::json status = {
        {"metadata", nlohmann::json::object()},
        {"status", "Failure"},
        {"message", "command terminated with non-zero exit code: error executing command [" +
                        std::string(command) + "], exit code " + code},
        {"reason", "NonZeroExitCode"},
        {"details", {{"causes", {{{"reason", "ExitCode"}, {"message", code}}}}}},
    };
    return status.dump();
}

std::string failure_status_json(std::string_view message) {
    nlohmann::json status = {
        {"metadata", nlohmann::json::object()},
        {"status", "Failure"},
        {"message", std::string(message)},
        {"reason", "InternalError"},
    };
    return status.dump();
}

CommandOutcome parse_command_outcome(std::string_view content, bool json_status) {
    CommandOutcome outcome;
    if (!json_status) {
        outcome.success = content.empty();
        outcome.message = std::string(content);
        return outcome;
    }
    if (content.empty()) {
        // The server closed the stream without a status: nothing went wrong.
        outcome.success = true;
        return outcome;
    }
    const auto status = nlohmann::json::parse(content, nullptr, false);
    if (status.is_discarded() || !status.is_object()) {
        outcome.message = "malformed status on the error stream: " + std::string(content);
        return outcome;
    }
    outcome.success = status.value("status", "") == "Success";
    outcome.message = status.value("message", "");
    if (status.value("reason", "") == "NonZeroExitCode") {
        const auto details = status.value("details", nlohmann::json::object());
        for (const auto& cause : details.value("causes", nlohmann::json::array())) {
            if (cause.value("reason", "") != "ExitCode")
                continue;
            try {
                outcome.exit_code = std::stoi(cause.value("message", ""));
            } catch (const std::exception&) {
                outcome.message += " (unreadable exit code)";
            }
        }
    }
    return outcome;
}

std::string encode_resize(TerminalSize size) {
    return nlohmann::json{{"Width", size.width}, {"Height", size.height}}.dump();
}

std::vector<TerminalSize> ResizeDecoder::feed(std::string_view data) {
    std::vector<TerminalSize> sizes;
    for (const char c : data) {
        if (depth_ == 0 && pending_.empty() && (c == ' ' || c == '\n' || c == '\r' || c == '\t'))
            continue;  // whitespace between messages
        pending_ += c;
        if (pending_.size() > kMaxResizeMessage)
            throw std::runtime_error("resize message too long");
        if (in_string_) {
            if (escaped_)
                escaped_ = false;
            else if (c == '\\')
                escaped_ = true;
            else if (c == '"')
                in_string_ = false;
            continue;
        }
        if (c == '"') {
            in_string_ = true;
        } else if (c == '{') {
            ++depth_;
        } else if (c == '}') {
            if (--depth_ < 0)
                throw std::runtime_error("malformed resize message");
            if (depth_ == 0) {
                const auto message = nlohmann::json::parse(pending_, nullptr, false);
                pending_.clear();
                if (message.is_discarded() || !message.is_object())
                    throw std::runtime_error("malformed resize message");
                sizes.push_back({dimension(message, "Width"), dimension(message, "Height")});
            }
        } else if (depth_ == 0) {
            throw std::runtime_error("malformed resize message");
        }
    }
    return sizes;
}

}  // namespace berth::stream
