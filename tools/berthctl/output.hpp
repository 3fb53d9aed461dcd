// Printing results the way crictl does: JSON (protobuf's JSON mapping,
// camelCase, defaults included), YAML, or a plain table.
#pragma once

#include <string>

#include <google/protobuf/map.h>
#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

namespace berth::ctl {

enum class OutputFormat { Table, Json, Yaml };

// "json", "yaml" or "table"; throws std::invalid_argument naming the choices
// that `allowed_table` permits.
OutputFormat parse_output_format(const std::string& text, bool allowed_table);

nlohmann::ordered_json message_to_json(const google::protobuf::Message& message);

std::string to_yaml(const nlohmann::ordered_json& value);

// Like crictl's inspect verbs: `result` gets every verbose info entry, decoded
// when it is JSON and kept as text when it is not.
void add_info_entries(nlohmann::ordered_json& result,
                      const google::protobuf::Map<std::string, std::string>& info);

// "5 seconds ago", "About a minute ago", ... as crictl prints creation times.
std::string human_age(std::int64_t created_ns);

// Prints `value` as JSON (indented) or YAML.
void print_structured(const nlohmann::ordered_json& value, OutputFormat format);

}  // namespace berth::ctl
