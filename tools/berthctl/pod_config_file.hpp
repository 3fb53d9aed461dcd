// Reading crictl-style pod sandbox config files (JSON or YAML, with proto
// field names in snake_case or lowerCamelCase).
#pragma once

#include <string>

#include "berth/cri_api.hpp"

namespace berth::ctl {

runtime::v1::PodSandboxConfig load_pod_config(const std::string& path);

}  // namespace berth::ctl
