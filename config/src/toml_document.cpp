#include "toml_document.hpp"

#include <fstream>

#include "berth/config/loader.hpp"

namespace berth::config {

namespace {

// toml11 puts "[error] toml::parse_xxx: " before the useful part of its
// message, and an ASCII-art excerpt after it; keep only the sentence.
std::string syntax_problem(const std::string& what) {
    std::string first_line = what.substr(0, what.find('\n'));
    const std::string error_tag = "[error] ";
    if (first_line.rfind(error_tag, 0) == 0) {
        first_line.erase(0, error_tag.size());
    }
    if (first_line.rfind("toml::", 0) == 0) {
        auto colon = first_line.find(": ");
        if (colon != std::string::npos) {
            first_line.erase(0, colon + 2);
        }
    }
    return first_line;
}

}  // namespace

TomlValue parse_toml_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(path + ": cannot be read");
    }
    try {
        return toml::parse<toml::discard_comments, std::map, std::vector>(in, path);
    } catch (const toml::syntax_error& error) {
        throw ConfigError(path + ":" + std::to_string(error.location().line()) +
                          ": syntax error: " + syntax_problem(error.what()));
    }
}

void merge_toml(TomlValue& base, const TomlValue& overlay) {
    if (!base.is_table() || !overlay.is_table()) {
        base = overlay;
        return;
    }
    for (const auto& [key, value] : overlay.as_table()) {
        auto& target = base.as_table();
        auto existing = target.find(key);
        if (existing != target.end() && existing->second.is_table() && value.is_table()) {
            merge_toml(existing->second, value);
        } else {
            target.insert_or_assign(key, value);
        }
    }
}

std::string origin_of(const TomlValue& value) {
    const auto location = value.location();
    return location.file_name() + ":" + std::to_string(location.line());
}

}  // namespace berth::config
