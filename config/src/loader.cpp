#include "berth/config/loader.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "decode.hpp"
#include "origins.hpp"
#include "toml_document.hpp"
#include "validate.hpp"

namespace berth::config {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> drop_in_files(const LoadOptions& options) {
    std::vector<std::string> files;
    std::error_code error;
    // A missing drop-in directory is simply empty (as for CRI-O); a file in
    // its place is a mistake worth stopping for.
    if (!fs::exists(options.config_dir, error)) {
        return files;
    }
    if (!fs::is_directory(options.config_dir, error)) {
        throw ConfigError(options.config_dir + ": the drop-in directory is not a directory");
    }
    for (const auto& entry : fs::directory_iterator(options.config_dir, error)) {
        if (entry.path().extension() == ".conf" && !entry.is_directory()) {
            files.push_back(entry.path().string());
        }
    }
    if (error) {
        throw ConfigError(options.config_dir + ": cannot be listed: " + error.message());
    }
    std::sort(files.begin(), files.end());
    return files;
}

void apply_flag(const std::optional<std::string>& flag, const char* flag_name, const char* key,
                std::string& target, Origins& origins) {
    if (flag) {
        target = *flag;
        origins.record(key, flag_name);
    }
}

}  // namespace

Config load(const LoadOptions& options) {
    TomlValue document = TomlValue::table_type{};
    std::error_code error;
    if (fs::exists(options.config_file, error)) {
        merge_toml(document, parse_toml_file(options.config_file));
    } else if (options.config_file_required) {
        throw ConfigError(options.config_file + ": --config names a file that does not exist");
    }
    for (const auto& file : drop_in_files(options)) {
        merge_toml(document, parse_toml_file(file));
    }

    Config config = default_config();
    Origins origins;
    decode(document, config, origins);

    apply_flag(options.root, "--root", "berth.root", config.root, origins);
    apply_flag(options.runroot, "--runroot", "berth.runroot", config.runroot, origins);
    apply_flag(options.listen, "--listen", "berth.api.listen", config.api.listen, origins);
    apply_flag(options.log_level, "--log-level", "berth.log_level", config.log_level, origins);

    validate_and_resolve(config, origins);
    return config;
}

}  // namespace berth::config
