// Applies a CDI spec's container edits to a container's OCI spec (the JSON
// that becomes config.json), as the CDI reference implementation does.
#pragma once

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "container/spec/cdi_spec.hpp"

namespace berth::daemon::container::cdi {

// An edit that cannot be made on this host (a device node whose host path
// is missing or of the wrong type).
class EditError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Environment variables replace same-named ones; device nodes replace a
// node at the same path and are allowed in the device cgroup (with the
// node's permissions, rwm by default), their missing type, numbers and mode
// taken from the host node; mounts replace one at the same destination and
// the mounts are put parents first again; hooks join linux hooks of their
// kind; additional GIDs (except 0) join the process user's. Throws EditError.
void apply_edits(const ContainerEdits& edits, nlohmann::json& spec);

}  // namespace berth::daemon::container::cdi
