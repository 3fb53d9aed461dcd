// Where each configuration value came from, so that a bad value is reported
// at the line that set it.
#pragma once

#include <map>
#include <string>

#include "berth/config/loader.hpp"

namespace berth::config {

class Origins {
public:
    void record(const std::string& key, std::string origin) { by_key_[key] = std::move(origin); }

    // "file:line", "--flag", or "default" for a value nobody set. A key that
    // was not set inside a table that was (a runtime handler without its
    // runtime_path) is reported at that table.
    std::string of(std::string key) const {
        for (;;) {
            auto it = by_key_.find(key);
            if (it != by_key_.end()) {
                return it->second;
            }
            const auto dot = key.rfind('.');
            if (dot == std::string::npos) {
                return "default";
            }
            key.erase(dot);
        }
    }

    [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
        throw ConfigError(of(key) + ": " + key + ": " + problem);
    }

private:
    std::map<std::string, std::string> by_key_;
};

}  // namespace berth::config
