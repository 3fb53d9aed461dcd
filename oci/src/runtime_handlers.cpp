#include "berth/oci/runtime_handlers.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::oci {

RuntimeHandlers::RuntimeHandlers(const config::RuntimeConfig& runtime)
    : handlers_(runtime.runtimes), default_name_(runtime.default_runtime) {}

const std::string& RuntimeHandlers::resolve_name(const std::string& name) const {
    return name.empty() ? default_name_ : name;
}

const config::RuntimeHandler* RuntimeHandlers::find(const std::string& name) const {
    auto it = handlers_.find(resolve_name(name));
    return it == handlers_.end() ? nullptr : &it->second;
}

std::vector<std::string> RuntimeHandlers::names() const {
    std::vector<std::string> result;
    for (const auto& entry : handlers_) {
        result.push_back(entry.first);
    }
    return result;
}

std::string RuntimeHandlers::unknown_handler_message(const std::string& name) const {
    std::string known;
    for (const auto& entry : handlers_) {
        known += known.empty() ? "" : ", ";
        known += entry.first;
    }
    return "runtime handler \"" + name + "\" is not configured (configured: " + known + ")";
}

std::vector<HandlerProblem> RuntimeHandlers::check_binaries() const {
    std::vector<HandlerProblem> problems;
    for (const auto& [name, handler] : handlers_) {
        struct stat info {};
        if (stat(handler.runtime_path.c_str(), &info) != 0) {
            problems.push_back({name, handler.runtime_path + ": " + std::strerror(errno)});
        } else if (!S_ISREG(info.st_mode) || access(handler.runtime_path.c_str(), X_OK) != 0) {
            problems.push_back({name, handler.runtime_path + ": not an executable file"});
        }
    }
    return problems;
}

}  // namespace berth::oci
