#include "berth/storage/reference.hpp"

#include <algorithm>
#include <cstddef>

namespace berth::storage {

namespace {

constexpr std::size_t kNameMaxLength = 255;  // distribution's NameTotalLengthMax
constexpr std::size_t kTagMaxLength = 128;
constexpr std::string_view kDefaultRegistry = "docker.io";
// Older clients and configs still name Docker Hub by its v1 index host; both
// must resolve to one image so that pulls and lookups agree.
constexpr std::string_view kLegacyDefaultRegistry = "index.docker.io";
constexpr std::string_view kDefaultTag = "latest";

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_lower_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f');
}
bool is_hex(char c) {
    return is_lower_hex(c) || (c >= 'A' && c <= 'F');
}
bool is_word(char c) {
    return is_alnum(c) || c == '_';
}

bool all_lower_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(), is_lower_hex);
}

[[noreturn]] void fail(std::string_view text, const std::string& why) {
    throw ReferenceError("invalid image reference \"" + std::string(text) + "\": " + why);
}

std::string in_quotes(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

std::string describe_char(char c) {
    if (c == ' ') {
        return "a space";
    }
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
        return "a non-printable or non-ASCII character";
    }
    return std::string("'") + c + "'";
}

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*  with separator := [._] | "__" | "-"+
bool is_path_component(std::string_view component) {
    std::size_t i = 0;
    const std::size_t n = component.size();
    while (true) {
        const std::size_t run = i;
        while (i < n && is_lower_alnum(component[i])) {
            ++i;
        }
        if (i == run) {
            return false;  // empty, or a separator at the start, end or doubled
        }
        if (i == n) {
            return true;
        }
        if (component[i] == '.') {
            ++i;
        } else if (component[i] == '_') {
            ++i;
            if (i < n && component[i] == '_') {
                ++i;
            }
        } else if (component[i] == '-') {
            while (i < n && component[i] == '-') {
                ++i;
            }
        } else {
            return false;
        }
    }
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool is_domain_component(std::string_view component) {
    if (component.empty() || !is_alnum(component.front()) || !is_alnum(component.back())) {
        return false;
    }
    return std::all_of(component.begin(), component.end(),
                       [](char c) { return is_alnum(c) || c == '-'; });
}

// Returns what is wrong with `domain` (host[:port], host being a domain name,
// an IPv4 address or a bracketed IPv6 address), or "" when it is valid.
std::string domain_problem(std::string_view domain) {
    std::string_view host = domain;
    std::string_view rest;
    if (!domain.empty() && domain.front() == '[') {
        const std::size_t close = domain.find(']');
        if (close == std::string_view::npos) {
            return "registry " + in_quotes(domain) + " has an unclosed '[' (IPv6 address)";
        }
        const std::string_view address = domain.substr(1, close - 1);
        if (address.empty() || !std::all_of(address.begin(), address.end(),
                                            [](char c) { return is_hex(c) || c == ':'; })) {
            return "registry " + in_quotes(domain) + " has an invalid IPv6 address";
        }
        rest = domain.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            return "registry " + in_quotes(domain) + " has characters after the IPv6 address";
        }
    } else {
        const std::size_t colon = domain.find(':');
        if (colon != std::string_view::npos) {
            host = domain.substr(0, colon);
            rest = domain.substr(colon);
        }
        std::size_t start = 0;
        while (true) {
            const std::size_t dot = host.find('.', start);
            const std::string_view component = host.substr(start, dot - start);
            if (!is_domain_component(component)) {
                return "registry " + in_quotes(domain) +
                       " is not a valid host name (components are letters, digits and inner "
                       "'-', separated by '.')";
            }
            if (dot == std::string_view::npos) {
                break;
            }
            start = dot + 1;
        }
    }
    if (!rest.empty()) {
        const std::string_view port = rest.substr(1);
        if (port.empty() || !std::all_of(port.begin(), port.end(), is_digit)) {
            return "registry " + in_quotes(domain) + " has an invalid port (digits expected)";
        }
    }
    return "";
}

// Returns what is wrong with a repository path, or "" when it is valid.
std::string path_problem(std::string_view path) {
    for (char c : path) {
        if (c >= 'A' && c <= 'Z') {
            return "repository name " + in_quotes(path) + " must be lowercase";
        }
    }
    for (char c : path) {
        if (!is_lower_alnum(c) && c != '.' && c != '_' && c != '-' && c != '/') {
            return "repository name " + in_quotes(path) + " contains " + describe_char(c);
        }
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = path.find('/', start);
        const std::string_view component = path.substr(start, slash - start);
        if (component.empty()) {
            return "repository name " + in_quotes(path) + " has an empty path component";
        }
        if (!is_path_component(component)) {
            return "repository path component " + in_quotes(component) +
                   " must start and end with a letter or digit, with single '.' or '_', "
                   "double '_' or runs of '-' between";
        }
        if (slash == std::string_view::npos) {
            return "";
        }
        start = slash + 1;
    }
}

std::string tag_problem(std::string_view tag) {
    if (tag.empty()) {
        return "tag after ':' is empty";
    }
    if (tag.size() > kTagMaxLength) {
        return "tag is longer than 128 characters (" + std::to_string(tag.size()) + ")";
    }
    if (!is_word(tag.front())) {
        return "tag " + in_quotes(tag) + " must start with a letter, digit or '_'";
    }
    for (char c : tag) {
        if (!is_word(c) && c != '.' && c != '-') {
            return "tag " + in_quotes(tag) + " contains " + describe_char(c) +
                   " (allowed: letters, digits, '_', '.', '-')";
        }
    }
    return "";
}

std::string digest_problem(std::string_view digest) {
    const std::size_t colon = digest.find(':');
    if (colon == std::string_view::npos) {
        return "digest " + in_quotes(digest) + " must have the form algorithm:hex";
    }
    const std::string_view algorithm = digest.substr(0, colon);
    const std::string_view hex = digest.substr(colon + 1);
    std::size_t expected_length = 0;
    if (algorithm == "sha256") {
        expected_length = 64;
    } else if (algorithm == "sha512") {
        expected_length = 128;
    } else {
        return "unsupported digest algorithm " + in_quotes(algorithm) + " (sha256 or sha512)";
    }
    if (!all_lower_hex(hex)) {
        return "digest " + in_quotes(digest) + " must be lowercase hexadecimal after the ':'";
    }
    if (hex.size() != expected_length) {
        return std::string(algorithm) + " digest must have " + std::to_string(expected_length) +
               " hex characters, got " + std::to_string(hex.size());
    }
    return "";
}

std::string normalize_registry(std::string_view registry) {
    if (registry == kLegacyDefaultRegistry) {
        return std::string(kDefaultRegistry);
    }
    return std::string(registry);
}

bool looks_like_registry(std::string_view component) {
    return component.find_first_of(".:") != std::string_view::npos || component == "localhost";
}

}  // namespace

std::string Reference::name() const {
    return registry + "/" + repository;
}

std::string Reference::tagged() const {
    return tag.empty() ? "" : name() + ":" + tag;
}

std::string Reference::digested() const {
    return digest.empty() ? "" : name() + "@" + digest;
}

std::string Reference::to_string() const {
    std::string text = name();
    if (!tag.empty()) {
        text += ":" + tag;
    }
    if (!digest.empty()) {
        text += "@" + digest;
    }
    return text;
}

std::vector<Reference> resolve_reference(std::string_view text,
                                         const std::vector<std::string>& search_registries) {
    if (text.empty()) {
        throw ReferenceError("invalid image reference: it is empty");
    }
    // docker refuses these too: a bare id names a local image, never one to pull,
    // and accepting it would silently look for an image called library/sha256.
    if (is_image_id(text)) {
        fail(text,
             "it looks like an image id; pull by name (busybox:1.36) or by digest "
             "(busybox@sha256:...)");
    }

    std::string_view name = text;
    std::string_view digest;
    if (const std::size_t at = text.find('@'); at != std::string_view::npos) {
        name = text.substr(0, at);
        digest = text.substr(at + 1);
        if (digest.empty()) {
            fail(text, "digest after '@' is empty");
        }
        if (const std::string problem = digest_problem(digest); !problem.empty()) {
            fail(text, problem);
        }
    }

    // The tag separator is the first ':' after the last '/': earlier colons
    // belong to the registry's port or IPv6 address.
    std::string_view tag;
    bool has_tag = false;
    const std::size_t last_slash = name.rfind('/');
    const std::size_t tag_colon =
        name.find(':', last_slash == std::string_view::npos ? 0 : last_slash + 1);
    if (tag_colon != std::string_view::npos) {
        tag = name.substr(tag_colon + 1);
        name = name.substr(0, tag_colon);
        has_tag = true;
    }
    if (name.empty()) {
        fail(text, "repository name is missing");
    }
    if (has_tag) {
        if (const std::string problem = tag_problem(tag); !problem.empty()) {
            fail(text, problem);
        }
    }

    std::string_view registry;
    std::string_view path = name;
    if (const std::size_t slash = name.find('/'); slash != std::string_view::npos) {
        const std::string_view first = name.substr(0, slash);
        if (looks_like_registry(first)) {
            registry = first;
            path = name.substr(slash + 1);
            if (const std::string problem = domain_problem(registry); !problem.empty()) {
                fail(text, problem);
            }
            if (path.empty()) {
                fail(text, "repository name is missing after registry " + in_quotes(registry));
            }
        }
    }
    if (const std::string problem = path_problem(path); !problem.empty()) {
        fail(text, problem);
    }

    std::vector<std::string> registries;
    if (!registry.empty()) {
        registries.push_back(normalize_registry(registry));
    } else if (search_registries.empty()) {
        registries.emplace_back(kDefaultRegistry);
    } else {
        for (const std::string& search : search_registries) {
            if (const std::string problem = domain_problem(search); !problem.empty()) {
                throw ReferenceError("invalid search registry: " + problem);
            }
            registries.push_back(normalize_registry(search));
        }
    }

    std::vector<Reference> candidates;
    for (std::string& candidate_registry : registries) {
        Reference reference;
        reference.repository = std::string(path);
        // Docker Hub keeps official images under library/; "busybox" and
        // "docker.io/busybox" both mean docker.io/library/busybox.
        if (candidate_registry == kDefaultRegistry && path.find('/') == std::string_view::npos) {
            reference.repository = "library/" + reference.repository;
        }
        reference.registry = std::move(candidate_registry);
        reference.tag = std::string(tag);
        reference.digest = std::string(digest);
        if (reference.tag.empty() && reference.digest.empty()) {
            reference.tag = std::string(kDefaultTag);
        }
        if (const std::size_t length = reference.name().size(); length > kNameMaxLength) {
            fail(text, "repository name " + in_quotes(reference.name()) +
                           " is longer than 255 characters (" + std::to_string(length) + ")");
        }
        if (std::find(candidates.begin(), candidates.end(), reference) == candidates.end()) {
            candidates.push_back(std::move(reference));
        }
    }
    return candidates;
}

Reference parse_reference(std::string_view text) {
    return resolve_reference(text).front();
}

bool is_digest(std::string_view text) {
    constexpr std::string_view prefix = "sha256:";
    return text.size() == prefix.size() + 64 && text.substr(0, prefix.size()) == prefix &&
           all_lower_hex(text.substr(prefix.size()));
}

bool is_supported_digest(std::string_view text) {
    return digest_problem(text).empty();
}

bool is_image_id(std::string_view text) {
    if (is_digest(text)) {
        return true;
    }
    return text.size() == 64 && all_lower_hex(text);
}

}  // namespace berth::storage
