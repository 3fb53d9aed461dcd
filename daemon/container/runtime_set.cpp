#include "container/runtime_set.hpp"

#include <spdlog/spdlog.h>

#include "berth/oci/runtime_oci.hpp"
#include "berth/oci/runtime_vm.hpp"
#include "sandbox/pod_init_process.hpp"
#include "status_error.hpp"

namespace berth::daemon::container {

RuntimeSet::RuntimeSet(const config::Config& config, std::string conmon)
    : exits_directory_(config.runroot + "/exits") {
    for (const auto& [name, handler] : config.runtime.runtimes) {
        if (handler.runtime_type == config::RuntimeType::Vm) {
            oci::VmRuntimeOptions options;
            options.handler_name = name;
            options.handler = handler;
            options.runroot = config.runroot;
            options.daemon_address = config.api.listen;
            try {
                options.fifo_keeper = sandbox::find_pod_init_binary();
            } catch (const std::exception& error) {
                spdlog::warn(
                    "runtime handler {}: {}; the output of a container that exits while "
                    "berthd is down may be lost",
                    name, error.what());
            }
            runtimes_.emplace(name, std::make_unique<oci::RuntimeVM>(std::move(options)));
            continue;
        }
        // runc/crun put <root>/<id>/notify/notify.sock below it; unix socket
        // paths hold at most 107 characters and ids are 64.
        constexpr std::size_t kLongestRuntimeRoot = 107 - 1 - 64 - 19;
        if (handler.runtime_root.size() > kLongestRuntimeRoot) {
            unavailable_[name] = {
                grpc::StatusCode::FAILED_PRECONDITION,
                "runtime handler \"" + name + "\": runtime_root \"" + handler.runtime_root +
                    "\" is longer than " + std::to_string(kLongestRuntimeRoot) +
                    " characters, too long for the runtime's unix sockets below it"};
            spdlog::error("{}", unavailable_[name].second);
            continue;
        }
        if (conmon.empty()) {
            unavailable_[name] = {grpc::StatusCode::FAILED_PRECONDITION,
                                  "berth-conmon was not found, so runtime handler \"" + name +
                                      "\" cannot run containers"};
            continue;
        }
        oci::OciRuntimeOptions options;
        options.handler_name = name;
        options.handler = handler;
        options.conmon_path = conmon;
        options.runroot = config.runroot;
        options.systemd_cgroup = config.runtime.cgroup_manager == config::CgroupManager::Systemd;
        runtimes_.emplace(name, std::make_unique<oci::RuntimeOCI>(std::move(options)));
    }
}

oci::RuntimeImpl* RuntimeSet::find(const std::string& handler) const {
    const auto found = runtimes_.find(handler);
    return found == runtimes_.end() ? nullptr : found->second.get();
}

void RuntimeSet::abandon_calls() const {
    for (const auto& [name, runtime] : runtimes_) {
        try {
            runtime->abandon_calls();
        } catch (const std::exception& error) {
            spdlog::warn("runtime handler {}: ending the calls in flight: {}", name, error.what());
        }
    }
}

oci::RuntimeImpl& RuntimeSet::get(const std::string& handler) const {
    if (auto* runtime = find(handler))
        return *runtime;
    if (const auto why = unavailable_.find(handler); why != unavailable_.end()) {
        throw StatusError(why->second.first, why->second.second);
    }
    throw not_found("runtime handler \"" + handler + "\" is not configured");
}

}  // namespace berth::daemon::container
