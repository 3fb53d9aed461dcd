// The resource flags `update` (containers) and `updatep` (pods) share, and
// the LinuxContainerResources both requests carry.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "berth/cri_api.hpp"

namespace berth::ctl {

struct ResourceFlags {
    std::int64_t cpu_shares = 0, cpu_quota = 0, cpu_period = 0, memory = 0;
    std::string cpuset_cpus, cpuset_mems;
};

// --cpu-shares, --cpu-quota, --cpu-period, --cpuset-cpus, --cpuset-mems and
// --memory, as crictl's `update` names them.
void add_resource_options(CLI::App& command, ResourceFlags& flags);

void fill_resources(const ResourceFlags& flags, runtime::v1::LinuxContainerResources& resources);

}  // namespace berth::ctl
