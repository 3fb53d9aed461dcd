// Parsing configuration files into one merged TOML document.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <toml.hpp>

namespace berth::config {

// Sorted tables: `berthd config` prints keys in a stable order.
using TomlValue = toml::basic_value<toml::discard_comments, std::map, std::vector>;

// Parses one file; a syntax error becomes ConfigError "file:line: ...".
TomlValue parse_toml_file(const std::string& path);

// Merges `overlay` into `base`: tables merge key by key (recursively), any
// other value in `overlay` replaces the one in `base`. Each value keeps the
// file and line it was read from.
void merge_toml(TomlValue& base, const TomlValue& overlay);

// "file:line" of a value.
std::string origin_of(const TomlValue& value);

}  // namespace berth::config
