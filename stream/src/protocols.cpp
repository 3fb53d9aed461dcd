#include "berth/stream/protocols.hpp"

#include <algorithm>

namespace berth::stream {

std::vector<std::string> split_header_tokens(const std::vector<std::string>& values) {
    std::vector<std::string> tokens;
    for (const auto& value : values) {
        std::size_t start = 0;
        while (start <= value.size()) {
            std::size_t comma = value.find(',', start);
            if (comma == std::string::npos) comma = value.size();
            std::string_view token(value.data() + start, comma - start);
            while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
                token.remove_prefix(1);
            }
            while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
                token.remove_suffix(1);
            }
            if (!token.empty()) tokens.emplace_back(token);
            start = comma + 1;
        }
    }
    return tokens;
}

std::optional<std::string> negotiate_protocol(const std::vector<std::string>& offered,
                                              const std::vector<std::string_view>& supported) {
    for (auto candidate : supported) {
        if (std::find(offered.begin(), offered.end(), candidate) != offered.end()) {
            return std::string(candidate);
        }
    }
    return std::nullopt;
}

}  // namespace berth::stream
