// The CDI devices a CreateContainer request asks for (CDI_devices, and the
// older cdi.k8s.io/ annotations that CRI-O and containerd still honour),
// resolved against the configured spec directories and applied to the
// container's OCI spec.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "container/spec/oci_spec.hpp"

namespace berth::daemon::container {

// A requested device: its qualified name and the request field naming it.
struct CdiRequest {
    std::string name;
    std::string field;  // CDI_devices[0].name or annotations["cdi.k8s.io/x"]
};

// In request order, each name once: CDI_devices first, then the annotations
// with the cdi.k8s.io/ prefix by key (comma-separated names).
std::vector<CdiRequest> requested_cdi_devices(const runtime::v1::ContainerConfig& config);

// Applies every requested device's edits (its spec's own edits once, before
// its first device) to `spec`. Throws SpecError naming the field for a name
// that is not fully qualified, a device no spec defines, or an edit that
// cannot be made on this host. Reads no spec file when nothing is asked for.
void inject_cdi_devices(const SpecInputs& in, nlohmann::json& spec);

}  // namespace berth::daemon::container
