// Linux capabilities of a container's process, as CRI-O computes them.
#pragma once

#include <string>
#include <vector>

namespace berth::daemon::container {

// CRI-O's default set, used when the configuration names none.
const std::vector<std::string>& default_capabilities();

// "CAP_CHOWN" for "chown", "CHOWN" or "CAP_CHOWN"; throws SpecError naming
// `field` for a capability Linux does not have.
std::string canonical_capability(const std::string& name, const std::string& field);

// Every capability the daemon itself may hand out: its own bounding set
// (a privileged container cannot get what berthd lacks; runc would fail
// with EPERM), in the kernel's order.
std::vector<std::string> all_capabilities();

// The default set (configured, else CRI-O's) with CRI's add/drop applied in
// CRI-O's order: add "ALL", drop "ALL", then single adds, then single drops.
std::vector<std::string> container_capabilities(const std::vector<std::string>& configured,
                                                const std::vector<std::string>& add,
                                                const std::vector<std::string>& drop);

}  // namespace berth::daemon::container
