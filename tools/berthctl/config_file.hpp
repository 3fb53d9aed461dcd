// Reading crictl-style pod sandbox and container config files (JSON or
// YAML, with proto field names in snake_case or lowerCamelCase).
#pragma once

#include <string>

#include "berth/cri_api.hpp"

namespace berth::ctl {

runtime::v1::PodSandboxConfig load_pod_config(const std::string& path);
runtime::v1::ContainerConfig load_container_config(const std::string& path);

}  // namespace berth::ctl
