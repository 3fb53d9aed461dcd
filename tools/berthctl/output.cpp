#include "output.hpp"

#include <chrono>
#include <iostream>
#include <stdexcept>

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

namespace berth::ctl {

namespace {

YAML::Node to_yaml_node(const nlohmann::ordered_json& value) {
    YAML::Node node;
    switch (value.type()) {
    case nlohmann::json::value_t::object:
        node = YAML::Node(YAML::NodeType::Map);
        for (const auto& [key, item] : value.items()) {
            node[key] = to_yaml_node(item);
        }
        break;
    case nlohmann::json::value_t::array:
        node = YAML::Node(YAML::NodeType::Sequence);
        for (const auto& item : value) {
            node.push_back(to_yaml_node(item));
        }
        break;
    case nlohmann::json::value_t::string:
        node = value.get<std::string>();
        break;
    case nlohmann::json::value_t::boolean:
        node = value.get<bool>();
        break;
    case nlohmann::json::value_t::number_integer:
        node = value.get<std::int64_t>();
        break;
    case nlohmann::json::value_t::number_unsigned:
        node = value.get<std::uint64_t>();
        break;
    case nlohmann::json::value_t::number_float:
        node = value.get<double>();
        break;
    default:
        node = YAML::Node(YAML::NodeType::Null);
        break;
    }
    return node;
}

}  // namespace

OutputFormat parse_output_format(const std::string& text, bool allowed_table) {
    if (text == "json") {
        return OutputFormat::Json;
    }
    if (text == "yaml") {
        return OutputFormat::Yaml;
    }
    if (allowed_table && text == "table") {
        return OutputFormat::Table;
    }
    throw std::invalid_argument("unsupported output format \"" + text + "\" (use json, yaml" +
                                (allowed_table ? " or table)" : ")"));
}

nlohmann::ordered_json message_to_json(const google::protobuf::Message& message) {
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    std::string text;
    auto status = google::protobuf::util::MessageToJsonString(message, &text, options);
    if (!status.ok()) {
        throw std::runtime_error("cannot print the reply as JSON: " + status.ToString());
    }
    return nlohmann::ordered_json::parse(text);
}

std::string to_yaml(const nlohmann::ordered_json& value) {
    YAML::Emitter out;
    out << to_yaml_node(value);
    return std::string(out.c_str()) + "\n";
}

void print_structured(const nlohmann::ordered_json& value, OutputFormat format) {
    if (format == OutputFormat::Yaml) {
        std::cout << to_yaml(value);
    } else {
        std::cout << value.dump(2) << "\n";
    }
}

// "5 seconds ago", "About a minute ago", ... as crictl prints them.
std::string human_age(std::int64_t created_ns) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(now).count() - created_ns / 1000000000;
    if (seconds < 1) {
        return "Less than a second ago";
    }
    if (seconds < 60) {
        return std::to_string(seconds) + (seconds == 1 ? " second ago" : " seconds ago");
    }
    const auto minutes = seconds / 60;
    if (minutes == 1) {
        return "About a minute ago";
    }
    if (minutes < 60) {
        return std::to_string(minutes) + " minutes ago";
    }
    const auto hours = minutes / 60;
    if (hours == 1) {
        return "About an hour ago";
    }
    if (hours < 48) {
        return std::to_string(hours) + " hours ago";
    }
    return std::to_string(hours / 24) + " days ago";
}

void add_info_entries(nlohmann::ordered_json& result,
                      const google::protobuf::Map<std::string, std::string>& info) {
    for (const auto& [key, text] : info) {
        auto parsed = nlohmann::ordered_json::parse(text, nullptr, false);
        result[key] = parsed.is_discarded() ? nlohmann::ordered_json(text) : parsed;
    }
}

}  // namespace berth::ctl
