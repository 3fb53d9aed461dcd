#include "request_paths.hpp"

#include <algorithm>
#include <cstdio>

#include "status_error.hpp"

namespace berth::daemon::request_paths {

namespace {

constexpr std::size_t kPathMax = 4095;
// The longest name Kubernetes gives an object (a DNS subdomain); a name is
// also one component of the default log layout, where the kernel allows 255.
constexpr std::size_t kNameMax = 253;

bool is_control(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

bool has_control(std::string_view value) {
    return std::any_of(value.begin(), value.end(), is_control);
}

bool has_dot_dot_component(std::string_view path) {
    while (!path.empty()) {
        const auto slash = path.find('/');
        if (path.substr(0, slash) == "..")
            return true;
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return false;
}

// What absolute and relative paths have in common.
std::string path_problem(std::string_view path) {
    if (path.size() > kPathMax)
        return "is longer than " + std::to_string(kPathMax) + " bytes";
    if (has_control(path))
        return "must not contain control characters (NUL, newline, ...)";
    if (has_dot_dot_component(path))
        return "must not contain \"..\" components";
    return "";
}

[[noreturn]] void fail(std::string_view field, std::string_view value, std::string_view problem) {
    throw invalid_argument(describe(field, value, problem));
}

}  // namespace

std::string absolute_path_problem(std::string_view path) {
    if (path.empty() || path.front() != '/')
        return "must be an absolute path";
    return path_problem(path);
}

std::string relative_path_problem(std::string_view path) {
    if (path.empty())
        return "must not be empty";
    if (path.front() == '/')
        return "must be a relative path";
    if (auto problem = path_problem(path); !problem.empty())
        return problem;
    const auto last = path.substr(path.rfind('/') + 1);
    if (last.empty() || last == ".")
        return "must name a file";
    return "";
}

std::string name_problem(std::string_view name) {
    if (name.empty())
        return "must not be empty";
    if (name.size() > kNameMax)
        return "is longer than " + std::to_string(kNameMax) + " bytes";
    if (name.find('/') != std::string_view::npos)
        return "must not contain '/'";
    if (has_control(name))
        return "must not contain control characters (NUL, newline, ...)";
    if (name == "." || name == "..")
        return "must not be \".\" or \"..\"";
    return "";
}

std::string describe(std::string_view field, std::string_view value, std::string_view problem) {
    std::string message(field);
    message += ' ';
    message += quoted_value(value);
    message += ' ';
    message += problem;
    return message;
}

void require_absolute_path(std::string_view field, std::string_view value) {
    if (const auto problem = absolute_path_problem(value); !problem.empty())
        fail(field, value, problem);
}

void require_relative_path(std::string_view field, std::string_view value) {
    if (const auto problem = relative_path_problem(value); !problem.empty())
        fail(field, value, problem);
}

void require_name(std::string_view field, std::string_view value) {
    if (const auto problem = name_problem(value); !problem.empty())
        fail(field, value, problem);
}

void check_pod_paths(const runtime::v1::PodSandboxConfig& pod, std::string_view prefix) {
    const std::string field(prefix);
    if (!pod.log_directory().empty())
        require_absolute_path(field + ".log_directory", pod.log_directory());
    const auto& metadata = pod.metadata();
    require_name(field + ".metadata.name", metadata.name());
    require_name(field + ".metadata.namespace", metadata.namespace_());
    require_name(field + ".metadata.uid", metadata.uid());
}

void check_container_log_paths(const runtime::v1::ContainerConfig& config) {
    require_name("config.metadata.name", config.metadata().name());
    if (!config.log_path().empty())
        require_relative_path("config.log_path", config.log_path());
}

}  // namespace berth::daemon::request_paths
