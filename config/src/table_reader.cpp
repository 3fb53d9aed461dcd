#include "table_reader.hpp"

namespace berth::config {

namespace {

const char* type_name(toml::value_t type) {
    switch (type) {
    case toml::value_t::boolean:
        return "a boolean";
    case toml::value_t::integer:
        return "an integer";
    case toml::value_t::floating:
        return "a float";
    case toml::value_t::string:
        return "a string";
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime:
    case toml::value_t::local_date:
    case toml::value_t::local_time:
        return "a date/time";
    case toml::value_t::array:
        return "an array";
    case toml::value_t::table:
        return "a table";
    case toml::value_t::empty:
        break;
    }
    return "nothing";
}

}  // namespace

TableReader::TableReader(const TomlValue* table, std::string path, Origins& origins)
    : table_(table), path_(std::move(path)), origins_(origins) {}

std::string TableReader::key_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
}

const TomlValue* TableReader::find(const std::string& key) {
    known_.insert(key);
    if (table_ == nullptr) {
        return nullptr;
    }
    const auto& entries = table_->as_table();
    auto it = entries.find(key);
    if (it == entries.end()) {
        return nullptr;
    }
    origins_.record(key_path(key), origin_of(it->second));
    return &it->second;
}

void TableReader::fail(const std::string& key, const std::string& problem) const {
    origins_.fail(key_path(key), problem);
}

void TableReader::expect(const TomlValue& value, const std::string& key, toml::value_t type,
                         const char* expected) const {
    if (value.type() != type) {
        fail(key, std::string("expected ") + expected + ", found " + type_name(value.type()));
    }
}

bool TableReader::read_string_if_present(const char* key, std::string& out) {
    const TomlValue* value = find(key);
    if (value == nullptr) {
        return false;
    }
    expect(*value, key, toml::value_t::string, "a string");
    out = value->as_string().str;
    return true;
}

void TableReader::read(const char* key, std::string& out) {
    read_string_if_present(key, out);
}

void TableReader::read(const char* key, std::int64_t& out) {
    if (const TomlValue* value = find(key)) {
        expect(*value, key, toml::value_t::integer, "an integer");
        out = value->as_integer();
    }
}

void TableReader::read(const char* key, bool& out) {
    if (const TomlValue* value = find(key)) {
        expect(*value, key, toml::value_t::boolean, "a boolean");
        out = value->as_boolean();
    }
}

void TableReader::read(const char* key, std::vector<std::string>& out) {
    const TomlValue* value = find(key);
    if (value == nullptr) {
        return;
    }
    expect(*value, key, toml::value_t::array, "an array of strings");
    std::vector<std::string> items;
    for (const auto& item : value->as_array()) {
        if (!item.is_string()) {
            fail(key, std::string("expected an array of strings, found ") + type_name(item.type()) +
                          " in it");
        }
        items.push_back(item.as_string().str);
    }
    out = std::move(items);
}

void TableReader::read(const char* key, std::map<std::string, std::vector<std::string>>& out) {
    const TomlValue* value = find(key);
    if (value == nullptr) {
        return;
    }
    expect(*value, key, toml::value_t::table, "a table");
    TableReader entries(value, key_path(key), origins_);
    for (const auto& [name, list] : value->as_table()) {
        entries.read(name.c_str(), out[name]);
    }
}

const TomlValue* TableReader::table(const char* key) {
    const TomlValue* value = find(key);
    if (value != nullptr) {
        expect(*value, key, toml::value_t::table, "a table");
    }
    return value;
}

std::vector<std::pair<std::string, const TomlValue*>> TableReader::tables_in(const char* key) {
    std::vector<std::pair<std::string, const TomlValue*>> result;
    const TomlValue* outer = table(key);
    if (outer == nullptr) {
        return result;
    }
    TableReader inner(outer, key_path(key), origins_);
    for (const auto& [name, value] : outer->as_table()) {
        result.emplace_back(name, inner.table(name.c_str()));
    }
    return result;
}

void TableReader::reject_unknown_keys() const {
    if (table_ == nullptr) {
        return;
    }
    for (const auto& [key, value] : table_->as_table()) {
        if (known_.count(key) == 0) {
            origins_.record(key_path(key), origin_of(value));
            fail(key, "unknown key");
        }
    }
}

}  // namespace berth::config
