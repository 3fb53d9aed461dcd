// What an OCI runtime binary can do beyond the runtime-spec basics, from its
// own `features` command (runtime-spec's features document; runc has it since
// 1.1, crun 1.8 not at all), else from a probe container.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "berth/config/helper_binary.hpp"
#include "berth/oci/runtime_oci.hpp"
#include "berth/oci/runtime_probe.hpp"
#include "command.hpp"

namespace berth::oci {

namespace {

bool lists(const nlohmann::json& document, const char* key, const char* value) {
    const auto found = document.find(key);
    if (found == document.end() || !found->is_array())
        return false;
    return std::find(found->begin(), found->end(), value) != found->end();
}

}  // namespace

HandlerFeatures RuntimeOCI::features() {
    std::call_once(features_probed_, [this] {
        // runc (1.1 on) and crun join a pod's user namespace by path, given
        // its mappings in the spec; whether the host allows one is the
        // daemon's to probe.
        features_.user_namespaces = true;
        const std::vector<std::string> argv = {options_.handler.runtime_path, "features"};
        try {
            const auto result = run_command(argv, std::chrono::seconds(10));
            if (result.exit_code != 0 || result.timed_out) {
                probe_features();
                return;
            }
            const auto document = nlohmann::json::parse(result.out);
            features_.recursive_read_only_mounts = lists(document, "mountOptions", "rro");
        } catch (const std::exception& error) {
            spdlog::warn("runtime handler {}: `{}`: {}", options_.handler_name, join_command(argv),
                         error.what());
        }
    });
    return features_;
}

void RuntimeOCI::probe_features() {
    // Without a features document the only way to know is to look: a
    // runtime that does not know `rro` ignores it without a word.
    const auto probe = probe_runtime_once(options_.handler.runtime_path,
                                          options_.runroot + "/probe/" + options_.handler_name,
                                          config::find_helper_binary("berth-pod-init"));
    features_.recursive_read_only_mounts = probe.usable && probe.recursive_read_only;
    spdlog::info("runtime handler {}: no features document; a probe container {}",
                 options_.handler_name,
                 !probe.usable ? "failed (" + probe.why + "): recursive read-only mounts are off"
                 : probe.recursive_read_only ? "showed recursive read-only mounts applied"
                                             : "showed recursive read-only mounts not applied");
}

}  // namespace berth::oci
