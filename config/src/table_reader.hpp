// Typed, checked access to one TOML table: each read names the key it expects,
// and whatever is left unread at the end is an unknown key.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "origins.hpp"
#include "toml_document.hpp"

namespace berth::config {

class TableReader {
public:
    // `table` may be null (the table is absent): every read leaves its default.
    TableReader(const TomlValue* table, std::string path, Origins& origins);

    void read(const char* key, std::string& out);
    // read() that tells whether the table had the key at all.
    bool read_string_if_present(const char* key, std::string& out);
    void read(const char* key, std::int64_t& out);
    void read(const char* key, bool& out);
    void read(const char* key, std::vector<std::string>& out);
    void read(const char* key, std::map<std::string, std::vector<std::string>>& out);

    template <typename Enum>
    void read_choice(const char* key, Enum& out,
                     std::initializer_list<std::pair<const char*, Enum>> choices) {
        std::string text;
        if (!read_string_if_present(key, text)) {
            return;
        }
        std::string allowed;
        for (const auto& [name, value] : choices) {
            if (text == name) {
                out = value;
                return;
            }
            allowed += allowed.empty() ? "" : ", ";
            allowed += std::string("\"") + name + "\"";
        }
        fail(key, "must be one of " + allowed + ", not \"" + text + "\"");
    }

    // A nested table, or null when absent.
    const TomlValue* table(const char* key);
    // Names of the entries of a nested table of tables (each checked).
    std::vector<std::pair<std::string, const TomlValue*>> tables_in(const char* key);

    std::string key_path(const std::string& key) const;

    // Throws for the first key that no read asked for.
    void reject_unknown_keys() const;

private:
    const TomlValue* find(const std::string& key);
    [[noreturn]] void fail(const std::string& key, const std::string& problem) const;
    void expect(const TomlValue& value, const std::string& key, toml::value_t type,
                const char* type_name) const;

    const TomlValue* table_;
    std::string path_;
    Origins& origins_;
    std::set<std::string> known_;
};

}  // namespace berth::config
