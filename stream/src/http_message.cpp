// The pure parts of the upgrade client: URLs, header fields, response heads.
#include <algorithm>
#include <charconv>

#include "berth/stream/http_upgrade_client.hpp"

namespace berth::stream {

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

// RFC 9110 section 5.6.2: the characters of a token (header names).
bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string_view trim_ows(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// Field values may hold visible characters, spaces and tabs, and (as
// obsolete text) bytes >= 0x80; any other control character is refused.
bool is_valid_field_value(std::string_view value) {
    return std::none_of(value.begin(), value.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && byte != '\t') || byte == 0x7F;
    });
}

[[noreturn]] void bad_head(const std::string& why) {
    throw HttpUpgradeError("malformed HTTP response head: " + why);
}

// Splits the head into lines without their CRLF (or LF).
std::vector<std::string_view> head_lines(std::string_view head) {
    std::vector<std::string_view> lines;
    while (!head.empty()) {
        const std::size_t newline = head.find('\n');
        std::string_view line = head.substr(0, newline);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        lines.push_back(line);
        if (newline == std::string_view::npos)
            break;
        head.remove_prefix(newline + 1);
    }
    return lines;
}

}  // namespace

std::string HttpUrl::authority() const {
    std::string text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80)) {
        text += ":" + std::to_string(port);
    }
    return text;
}

HttpUrl parse_http_url(std::string_view url) {
    const auto bad = [&](const std::string& why) {
        return HttpUpgradeError("bad URL \"" + std::string(url) + "\": " + why);
    };
    HttpUrl parsed;
    const std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        throw bad("no scheme");
    const std::string_view scheme = url.substr(0, scheme_end);
    if (iequals(scheme, "https") || iequals(scheme, "wss")) {
        parsed.tls = true;
        parsed.port = 443;
    } else if (!iequals(scheme, "http") && !iequals(scheme, "ws")) {
        throw bad("the scheme must be http or https");
    }
    std::string_view rest = url.substr(scheme_end + 3);
    rest = rest.substr(0, rest.find('#'));  // fragments are never sent
    const std::size_t authority_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, authority_end);
    const std::string_view target =
        authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos)
        throw bad("user information is not supported");

    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            throw bad("unterminated IPv6 address");
        parsed.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                throw bad("unexpected text after the IPv6 address");
            port_text = after.substr(1);
        }
        if (parsed.host.find(':') == std::string::npos)
            throw bad("not an IPv6 address in brackets");
    } else {
        const std::size_t colon = authority.find(':');
        parsed.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.find(':') != std::string_view::npos) {
                throw bad("IPv6 addresses need brackets");
            }
        }
    }
    if (parsed.host.empty())
        throw bad("no host");
    if (std::any_of(parsed.host.begin(), parsed.host.end(), [](char c) {
            return static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '\\';
        })) {
        throw bad("invalid character in the host");
    }
    if (!port_text.empty()) {
        unsigned value = 0;
        const auto [end, error] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (error != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            throw bad("invalid port");
        }
        parsed.port = static_cast<std::uint16_t>(value);
    }
    if (target.empty()) {
        parsed.target = "/";
    } else if (target.front() == '?') {
        parsed.target = "/" + std::string(target);
    } else {
        parsed.target = std::string(target);
    }
    if (std::any_of(parsed.target.begin(), parsed.target.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7F; })) {
        throw bad("the path must be percent-encoded");
    }
    return parsed;
}

void HttpHeaders::add(std::string name, std::string value) {
    entries_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
    for (const auto& [key, value] : entries_) {
        if (iequals(key, name))
            return value;
    }
    return std::nullopt;
}

std::vector<std::string> HttpHeaders::get_all(std::string_view name) const {
    std::vector<std::string> values;
    for (const auto& [key, value] : entries_) {
        if (iequals(key, name))
            values.push_back(value);
    }
    return values;
}

std::size_t find_http_head_end(std::string_view data) {
    std::size_t line_start = 0;
    for (;;) {
        const std::size_t newline = data.find('\n', line_start);
        if (newline == std::string_view::npos)
            return 0;
        std::size_t line_length = newline - line_start;
        if (line_length > 0 && data[newline - 1] == '\r')
            --line_length;
        if (line_length == 0 && line_start > 0)
            return newline + 1;
        line_start = newline + 1;
    }
}

HttpResponseHead parse_http_response_head(std::string_view head, std::size_t max_size) {
    const std::size_t end = find_http_head_end(head.substr(0, std::min(head.size(), max_size)));
    if (end == 0) {
        if (head.size() > max_size) {
            throw HttpUpgradeError("HTTP response head larger than " + std::to_string(max_size) +
                                   " bytes");
        }
        bad_head("incomplete (no empty line ends it)");
    }
    std::vector<std::string_view> lines = head_lines(head.substr(0, end));
    // The last line is the empty one that ends the head.
    lines.pop_back();

    HttpResponseHead parsed;
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]
    const std::string_view status_line = lines.front();
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." ||
        !is_digit(status_line[7]) || status_line[8] != ' ' || !is_digit(status_line[9]) ||
        !is_digit(status_line[10]) || !is_digit(status_line[11]) ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
        bad_head("bad status line \"" + std::string(status_line.substr(0, 80)) + "\"");
    }
    parsed.status =
        (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
    if (parsed.status < 100)
        bad_head("status code below 100");
    if (status_line.size() > 12) {
        parsed.reason = std::string(status_line.substr(13));
        if (!is_valid_field_value(parsed.reason))
            bad_head("control character in the reason");
    }

    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::string_view line = lines[i];
        if (line.front() == ' ' || line.front() == '\t') {
            // RFC 9112 section 5.2: folding is obsolete; a client may refuse it.
            bad_head("obsolete line folding in a header field");
        }
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            bad_head("header field without a colon");
        const std::string_view name = line.substr(0, colon);
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
            // This also refuses whitespace before the colon, which RFC 9112
            // section 5.1 says must be rejected.
            bad_head("invalid header field name \"" + std::string(name.substr(0, 80)) + "\"");
        }
        const std::string_view value = trim_ows(line.substr(colon + 1));
        if (!is_valid_field_value(value)) {
            bad_head("control character in header field " + std::string(name));
        }
        parsed.headers.add(std::string(name), std::string(value));
    }
    return parsed;
}

}  // namespace berth::stream
