// The table of CRI runtime handlers (RunPodSandboxRequest.runtime_handler ->
// a configured runtime). Every pod and container names its handler through
// here, so an unknown name fails the same way everywhere.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/config/config.hpp"

namespace berth::oci {

struct HandlerProblem {
    std::string handler;
    std::string message;
};

class RuntimeHandlers {
public:
    explicit RuntimeHandlers(const config::RuntimeConfig& runtime);

    // "" selects the default handler. Returns nullptr for an unknown name.
    const config::RuntimeHandler* find(const std::string& name) const;
    const std::string& resolve_name(const std::string& name) const;

    // A message like `runtime handler "x" is not configured (configured: crun, runc)`.
    std::string unknown_handler_message(const std::string& name) const;

    // Handlers whose binary cannot be run right now (missing, not executable).
    std::vector<HandlerProblem> check_binaries() const;

    const std::string& default_name() const { return default_name_; }
    std::vector<std::string> names() const;

private:
    std::map<std::string, config::RuntimeHandler> handlers_;
    std::string default_name_;
};

}  // namespace berth::oci
