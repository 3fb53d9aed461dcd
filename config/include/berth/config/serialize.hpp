// The effective configuration as data: JSON for Status(verbose) and TOML for
// `berthd config`. Both come from one mapping, so they never disagree.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/config/config.hpp"

namespace berth::config {

nlohmann::ordered_json to_json(const Config& config);
std::string to_toml(const Config& config);

}  // namespace berth::config

namespace berth::config {

// Dotted keys ("berth.api.listen") whose values differ between two configs.
std::vector<std::string> changed_keys(const Config& before, const Config& after);

}  // namespace berth::config
