// Loading, merging and validating berthd's TOML configuration.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "berth/config/config.hpp"

namespace berth::config {

inline constexpr const char* kDefaultConfigFile = "/etc/berth/berth.conf";
inline constexpr const char* kDefaultConfigDir = "/etc/berth/berth.conf.d";

// Where the configuration comes from. Flags given on the command line win over
// every file.
struct LoadOptions {
    std::string config_file = kDefaultConfigFile;
    bool config_file_required = false;           // true when named with --config
    std::string config_dir = kDefaultConfigDir;  // may be absent

    std::optional<std::string> root;
    std::optional<std::string> runroot;
    std::optional<std::string> listen;
    std::optional<std::string> log_level;
};

// Every configuration problem, formatted as "origin: key: what is wrong" where
// origin is "file:line", a command-line flag, or "default".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Reads defaults, the main file, then drop-ins (*.conf in lexical order; later
// files win, tables merge key by key), applies the flags and validates the
// result. Throws ConfigError on the first problem.
Config load(const LoadOptions& options);

}  // namespace berth::config
