#include "network/cni_config_probe.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::daemon::network {

namespace fs = std::filesystem;

namespace {

// A list needs a name and at least one plugin with a type; a single-plugin
// file needs a name and a type.
bool valid_network(const nlohmann::json& doc, const fs::path& file) {
    if (!doc.is_object() || !doc.contains("name") || !doc["name"].is_string()) {
        return false;
    }
    if (file.extension() == ".conflist") {
        const auto plugins = doc.find("plugins");
        return plugins != doc.end() && plugins->is_array() && !plugins->empty() &&
               std::all_of(plugins->begin(), plugins->end(), [](const nlohmann::json& plugin) {
                   return plugin.is_object() && plugin.contains("type") &&
                          plugin["type"].is_string();
               });
    }
    return doc.contains("type") && doc["type"].is_string();
}

}  // namespace

CniProbeResult probe_cni_config(const std::string& network_dir) {
    CniProbeResult result;
    std::vector<fs::path> candidates;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(network_dir, error)) {
        const auto extension = entry.path().extension();
        if (extension == ".conflist" || extension == ".conf" || extension == ".json") {
            candidates.push_back(entry.path());
        }
    }
    std::sort(candidates.begin(), candidates.end());
    for (const auto& file : candidates) {
        std::ifstream in(file);
        auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (!doc.is_discarded() && valid_network(doc, file)) {
            result.ready = true;
            result.network_name = doc["name"].get<std::string>();
            result.file = file.string();
            return result;
        }
    }
    result.problem = "no valid CNI network configuration in " + network_dir;
    return result;
}

}  // namespace berth::daemon::network
