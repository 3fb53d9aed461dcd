// CRI messages inside Berth's JSON records: protobuf's JSON mapping with the
// .proto field names, so that records read like the CRI definitions.
#pragma once

#include <stdexcept>
#include <string>

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

namespace berth::daemon {

inline nlohmann::json message_to_json(const google::protobuf::Message& message) {
    std::string text;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    const auto status = google::protobuf::util::MessageToJsonString(message, &text, options);
    if (!status.ok()) {
        throw std::runtime_error("cannot encode " + message.GetTypeName() + ": " +
                                 status.ToString());
    }
    return nlohmann::json::parse(text);
}

inline void message_from_json(const nlohmann::json& json, google::protobuf::Message& message) {
    const auto status = google::protobuf::util::JsonStringToMessage(json.dump(), &message);
    if (!status.ok()) {
        throw std::runtime_error("bad " + message.GetTypeName() + ": " + status.ToString());
    }
}

}  // namespace berth::daemon
