#include "default_runtime.hpp"

#include <spdlog/spdlog.h>

#include "berth/config/helper_binary.hpp"
#include "berth/oci/runtime_probe.hpp"

namespace berth {

void settle_default_runtime(config::Config& config) {
    auto& runtime = config.runtime;
    if (runtime.default_runtime_chosen || runtime.default_runtime != "crun" ||
        runtime.runtimes.count("runc") == 0) {
        return;
    }
    const auto& crun = runtime.runtimes.at("crun");
    if (crun.runtime_type != config::RuntimeType::Oci) {
        return;
    }
    oci::RuntimeProbe probe;
    try {
        probe = oci::probe_runtime_once(crun.runtime_path, config.runroot + "/probe/crun",
                                        config::find_helper_binary("berth-pod-init"));
    } catch (const std::exception& error) {
        probe.why = error.what();
    }
    if (!probe.usable) {
        spdlog::warn(
            "crun ({}) cannot create containers on this host: {}; the default runtime handler "
            "is runc (crun stays available by name)",
            crun.runtime_path, probe.why);
        runtime.default_runtime = "runc";
    }
}

}  // namespace berth
