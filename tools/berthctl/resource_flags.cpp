#include "resource_flags.hpp"

namespace berth::ctl {

void add_resource_options(CLI::App& command, ResourceFlags& flags) {
    command.add_option("--cpu-shares", flags.cpu_shares, "CPU shares (relative weight)");
    command.add_option("--cpu-quota", flags.cpu_quota, "CPU CFS quota in microseconds");
    command.add_option("--cpu-period", flags.cpu_period, "CPU CFS period in microseconds");
    command.add_option("--cpuset-cpus", flags.cpuset_cpus, "CPUs allowed (0-3, 0,1)");
    command.add_option("--cpuset-mems", flags.cpuset_mems, "memory nodes allowed");
    command.add_option("--memory", flags.memory, "memory limit in bytes");
}

void fill_resources(const ResourceFlags& flags, runtime::v1::LinuxContainerResources& resources) {
    resources.set_cpu_shares(flags.cpu_shares);
    resources.set_cpu_quota(flags.cpu_quota);
    resources.set_cpu_period(flags.cpu_period);
    resources.set_cpuset_cpus(flags.cpuset_cpus);
    resources.set_cpuset_mems(flags.cpuset_mems);
    resources.set_memory_limit_in_bytes(flags.memory);
}

}  // namespace berth::ctl
