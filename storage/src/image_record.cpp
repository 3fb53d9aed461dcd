#include "berth/storage/image_record.hpp"

namespace berth::storage {

nlohmann::json to_json(const ImageRecord& record) {
    return {
        {"id", record.id},
        {"repo_tags", record.repo_tags},
        {"repo_digests", record.repo_digests},
        {"manifest_digest", record.manifest_digest},
        {"manifest_media_type", record.manifest_media_type},
        {"blobs", record.blobs},
        {"layers", record.layers},
        {"size", record.size},
        {"config", to_json(record.config)},
        {"created_at_ns", record.created_at_ns},
    };
}

bool is_pinned(const ImageRecord& record, const std::vector<std::string>& patterns) {
    auto matches = [](const std::string& pattern, const std::string& name) {
        if (pattern.size() > 1 && pattern.front() == '*' && pattern.back() == '*') {
            return name.find(pattern.substr(1, pattern.size() - 2)) != std::string::npos;
        }
        if (!pattern.empty() && pattern.back() == '*') {
            return name.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0;
        }
        return name == pattern;
    };
    for (const auto& pattern : patterns) {
        for (const auto* names : {&record.repo_tags, &record.repo_digests}) {
            for (const auto& name : *names) {
                if (matches(pattern, name))
                    return true;
            }
        }
    }
    return false;
}

ImageRecord image_record_from_json(const nlohmann::json& json) {
    ImageRecord record;
    record.id = json.at("id").get<std::string>();
    record.repo_tags = json.at("repo_tags").get<std::vector<std::string>>();
    record.repo_digests = json.at("repo_digests").get<std::vector<std::string>>();
    record.manifest_digest = json.at("manifest_digest").get<std::string>();
    record.manifest_media_type = json.value("manifest_media_type", "");
    record.blobs = json.at("blobs").get<std::vector<std::string>>();
    record.layers = json.at("layers").get<std::vector<std::string>>();
    record.size = json.at("size").get<std::uint64_t>();
    record.config = image_config_from_json(json.at("config"));
    record.created_at_ns = json.value("created_at_ns", std::int64_t{0});
    return record;
}

}  // namespace berth::storage
