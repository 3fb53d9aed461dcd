// Running a shim v2 binary the way containerd does: `start` launches the
// long-lived shim (or finds the pod's running one) and prints the address of
// its ttrpc socket; `delete` cleans up after a task whose shim died.
#pragma once

#include <chrono>
#include <string>

namespace berth::oci::vm {

struct ShimCommand {
    std::string binary;          // e.g. /usr/bin/containerd-shim-kata-v2
    std::string namespace_name;  // containerd's namespace flag; shims key their state by it
    // containerd's address: shims derive their socket's name from it, so
    // berthd passes its own socket (unique per daemon).
    std::string address;
    // Where a shim publishes task events over ttrpc; nothing listens there
    // (exits arrive through Wait), so a shim's publisher gives up quietly.
    std::string ttrpc_address;
    std::string publish_binary;  // berthd itself, as containerd passes itself
};

// `SHIM -namespace N -address A -publish-binary P -id ID start` run in
// `bundle`, with `options` (a serialized google.protobuf.Any, may be empty)
// on stdin. Returns the address the shim serves. Throws
// RuntimeError(CannotRun) with the shim's own words.
std::string start_shim(const ShimCommand& shim, const std::string& id, const std::string& bundle,
                       const std::string& options, std::chrono::seconds timeout);

// `SHIM ... -id ID -bundle B delete`: the shim binary removes what is left of
// the task (runc delete --force, rootfs mounts) without a running shim.
// Returns "" on success, else what went wrong.
std::string delete_after_dead_shim(const ShimCommand& shim, const std::string& id,
                                   const std::string& bundle, std::chrono::seconds timeout);

}  // namespace berth::oci::vm
