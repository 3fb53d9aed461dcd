// What an OCI runtime binary can do beyond the runtime-spec basics, from its
// own `features` command (runtime-spec's features document; runc has it since
// 1.1, crun 1.8 not at all).
#include <algorithm>

#include <spdlog/spdlog.h>

#include "berth/oci/runtime_oci.hpp"
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
                spdlog::info(
                    "runtime handler {}: `{}` gave no features document; optional "
                    "features (recursive read-only mounts) are off",
                    options_.handler_name, join_command(argv));
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

}  // namespace berth::oci
