#include "config_file.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"

namespace berth::ctl {

namespace {

nlohmann::json yaml_to_json(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Map: {
        nlohmann::json object = nlohmann::json::object();
        for (const auto& item : node) {
            object[item.first.as<std::string>()] = yaml_to_json(item.second);
        }
        return object;
    }
    case YAML::NodeType::Sequence: {
        nlohmann::json array = nlohmann::json::array();
        for (const auto& item : node) {
            array.push_back(yaml_to_json(item));
        }
        return array;
    }
    case YAML::NodeType::Scalar: {
        // Plain scalars that look like numbers or booleans are given as such;
        // protobuf's JSON parser accepts either form for every field type.
        const std::string text = node.as<std::string>();
        if (node.Tag() == "!") {
            return text;  // quoted in the YAML
        }
        if (text == "true" || text == "false") {
            return text == "true";
        }
        auto number = nlohmann::json::parse(text, nullptr, false);
        if (!number.is_discarded() && number.is_number()) {
            return number;
        }
        return text;
    }
    default:
        return nullptr;
    }
}

void load_message(const std::string& path, const std::string& what,
                  google::protobuf::Message& message) {
    std::ifstream in(path);
    if (!in) {
        throw CommandFailed("cannot read " + what + " " + path);
    }
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
    if (json.is_discarded()) {
        try {
            json = yaml_to_json(YAML::Load(text.str()));
        } catch (const YAML::Exception& error) {
            throw CommandFailed(path + ": neither JSON nor YAML: " + error.what());
        }
    }
    auto status = google::protobuf::util::JsonStringToMessage(json.dump(), &message);
    if (!status.ok()) {
        throw CommandFailed(path + ": not a " + what + ": " + status.ToString());
    }
}

}  // namespace

runtime::v1::PodSandboxConfig load_pod_config(const std::string& path) {
    runtime::v1::PodSandboxConfig config;
    load_message(path, "pod sandbox config", config);
    return config;
}

runtime::v1::ContainerConfig load_container_config(const std::string& path) {
    runtime::v1::ContainerConfig config;
    load_message(path, "container config", config);
    return config;
}

}  // namespace berth::ctl
