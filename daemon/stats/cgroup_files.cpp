#include "stats/cgroup_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "unique_fd.hpp"

namespace berth::daemon::stats {

namespace {

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\n");
    return text.substr(first, last - first + 1);
}

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
    Number value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// "avg10=0.00 avg60=1.50 avg300=0.00 total=123"
std::optional<PressureLine> parse_pressure_fields(std::string_view fields) {
    PressureLine line;
    int seen = 0;
    while (!fields.empty()) {
        const auto space = fields.find(' ');
        const std::string_view field = fields.substr(0, space);
        fields = space == std::string_view::npos ? std::string_view() : fields.substr(space + 1);
        const auto equals = field.find('=');
        if (equals == std::string_view::npos) {
            continue;
        }
        const std::string_view name = field.substr(0, equals);
        const std::string_view value = field.substr(equals + 1);
        if (name == "total") {
            const auto total = parse_number<std::uint64_t>(value);
            if (!total) {
                return std::nullopt;
            }
            line.total = *total;
            ++seen;
            continue;
        }
        double* target = name == "avg10"    ? &line.avg10
                         : name == "avg60"  ? &line.avg60
                         : name == "avg300" ? &line.avg300
                                            : nullptr;
        if (target == nullptr) {
            continue;
        }
        const auto parsed = parse_number<double>(value);
        if (!parsed) {
            return std::nullopt;
        }
        *target = *parsed;
        ++seen;
    }
    if (seen != 4) {
        return std::nullopt;
    }
    return line;
}

}  // namespace

std::optional<std::string> read_small_file(const std::string& path, std::size_t limit) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return std::nullopt;
    }
    std::string content;
    char buffer[4096];
    while (content.size() < limit) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return std::nullopt;
        }
        if (got == 0) {
            break;
        }
        content.append(buffer, std::min(static_cast<std::size_t>(got), limit - content.size()));
    }
    return content;
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
    text = trim(text);
    if (text.empty()) {
        return std::nullopt;
    }
    return parse_number<std::uint64_t>(text);
}

std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key) {
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
            line[key.size()] == ' ') {
            return parse_u64(line.substr(key.size() + 1));
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> read_u64_file(const std::string& path) {
    const auto content = read_small_file(path, 256);
    if (!content) {
        return std::nullopt;
    }
    return parse_u64(*content);
}

Pressure parse_pressure(std::string_view text) {
    Pressure pressure;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        if (line.starts_with("some ")) {
            pressure.some = parse_pressure_fields(line.substr(5));
        } else if (line.starts_with("full ")) {
            pressure.full = parse_pressure_fields(line.substr(5));
        }
    }
    return pressure;
}

}  // namespace berth::daemon::stats
