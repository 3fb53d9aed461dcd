// One Container Device Interface spec file (a vendor's JSON or YAML file in
// /etc/cdi or /var/run/cdi), parsed and checked. A spec names a kind
// ("vendor.com/class"), its devices, and the edits to a container's OCI spec
// that each device (and any device of the kind) brings along.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace berth::daemon::container::cdi {

struct DeviceNode {
    std::string path;       // in the container
    std::string host_path;  // empty: the same as path
    std::string type;       // "", "b", "c", "u" or "p"
    std::optional<std::int64_t> major, minor;
    std::optional<std::uint32_t> file_mode, uid, gid;
    std::string permissions;  // cgroup access: "" (rwm), "none", or of r, w, m
};

struct Mount {
    std::string host_path, container_path, type;
    std::vector<std::string> options;
};

struct Hook {
    std::string hook_name;  // prestart, createRuntime, ..., poststop
    std::string path;
    std::vector<std::string> args, env;
    std::optional<std::int64_t> timeout;
};

struct IntelRdt {
    std::string clos_id, l3_cache_schema, mem_bw_schema;
    bool enable_cmt = false, enable_mbm = false;
};

struct ContainerEdits {
    std::vector<std::string> env;  // "NAME=value"
    std::vector<DeviceNode> device_nodes;
    std::vector<Mount> mounts;
    std::vector<Hook> hooks;
    std::vector<std::uint32_t> additional_gids;
    std::optional<IntelRdt> intel_rdt;

    bool empty() const {
        return env.empty() && device_nodes.empty() && mounts.empty() && hooks.empty() &&
               additional_gids.empty() && !intel_rdt;
    }
    // Another set of edits after these (a spec's, then each device's).
    void append(const ContainerEdits& other);
};

struct Device {
    std::string name;  // unqualified: the part after "="
    ContainerEdits edits;
};

struct Spec {
    std::string path;  // the file it came from
    std::string version, kind;
    std::vector<Device> devices;
    ContainerEdits edits;  // applied once whenever any of its devices is
};

// Why a spec file is unusable: names the field and the problem.
class SpecFileError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class SpecFormat { Json, Yaml };

// The format a file name asks for; nullopt for any other file.
std::optional<SpecFormat> spec_format_of(std::string_view file_name);

// Parses and validates `text`. Throws SpecFileError.
Spec parse_spec(const std::string& text, SpecFormat format, const std::string& path);

// "vendor.com/class=name" split into kind and name; an empty kind when
// `qualified` is not a valid fully qualified device name, and `problem`
// then says why.
struct QualifiedName {
    std::string kind, name, problem;
};
QualifiedName parse_qualified_name(std::string_view qualified);

}  // namespace berth::daemon::container::cdi
