// The rules for every path berthd builds from a CRI request. berthd runs as
// root: a log path, checkpoint location, seccomp profile, mount or device
// path that climbs out with "..", or a name that smuggles a "/" into a path,
// would make it create, write or mount somewhere the request had no business
// naming. Each rule is a "*_problem" function that returns "" for an
// acceptable value, else why not (phrased to follow the value: "must be an
// absolute path"), so that callers with their own error type (the OCI spec
// builder's SpecError) share the rule; the require_* and check_* functions
// throw INVALID_ARGUMENT naming the field.
#pragma once

#include <string>
#include <string_view>

#include "berth/cri_api.hpp"

namespace berth::daemon::request_paths {

// Absolute, without ".." components, control characters (NUL and newline
// among them) or more than 4095 bytes (PATH_MAX).
std::string absolute_path_problem(std::string_view path);
// Relative to a directory and staying beneath it: not absolute, no ".."
// components, no control characters, and naming a file (not ending in "/"
// or "."). Such a path resolves inside its directory lexically; what lies on
// disk there (a planted symbolic link) is the opener's to refuse.
std::string relative_path_problem(std::string_view path);
// One component of a path: not empty, no "/", no control characters, not
// "." or "..".
std::string name_problem(std::string_view name);

// "<field> <quoted_value(value)> <problem>", the message the functions below
// throw (quoted_value: status_error.hpp).
std::string describe(std::string_view field, std::string_view value, std::string_view problem);

void require_absolute_path(std::string_view field, std::string_view value);
void require_relative_path(std::string_view field, std::string_view value);
void require_name(std::string_view field, std::string_view value);

// A pod's log_directory (absolute, when given) and the metadata the default
// log layout puts into a path (<log_dir>/<namespace>_<name>_<uid>/...).
// `prefix` names the pod config in the request: "config" in RunPodSandbox,
// "sandbox_config" in CreateContainer.
void check_pod_paths(const runtime::v1::PodSandboxConfig& pod, std::string_view prefix);
// A container's metadata.name (a directory of the default log layout) and
// log_path (relative to the pod's log_directory), as "config.*".
void check_container_log_paths(const runtime::v1::ContainerConfig& config);

}  // namespace berth::daemon::request_paths
