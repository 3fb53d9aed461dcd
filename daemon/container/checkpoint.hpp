// CheckpointContainer's work: a checkpoint archive laid out as CRI-O's, so
// that checkpointctl and the tools that restore Kubernetes checkpoints read
// it as they read CRI-O's:
//
//   checkpoint/       CRIU's images of the processes (stats-dump among them)
//   dump.log          CRIU's log of the dump
//   config.dump       which container this was: id, name, image, runtime, times
//   spec.dump         its OCI spec (the bundle's config.json)
//   bind.mounts       the bind mounts' sources and kinds, for a restore
//   rootfs-diff.tar   what the container added or changed in its root
//   deleted.files     what it deleted there (only when it deleted something)
#pragma once

#include <chrono>
#include <string>

#include "berth/oci/runtime_impl.hpp"
#include "container/container.hpp"

namespace berth::daemon::container {

struct CheckpointInputs {
    const Container* record = nullptr;  // a running container
    oci::RuntimeImpl* runtime = nullptr;
    std::string archive;    // absolute path of the archive to write
    std::string upper_dir;  // the container's writable layer; "" when it has none
    std::chrono::seconds timeout{std::chrono::minutes(5)};  // for the dump
};

// Writes the archive; the container is paused while its processes and its
// writable layer are copied (so that the two agree) and resumed afterwards,
// whatever happens. Throws StatusError (INVALID_ARGUMENT for an archive path
// that cannot be), RuntimeError (FAILED_PRECONDITION naming why CRIU cannot
// work here), std::runtime_error otherwise.
void checkpoint_container(const CheckpointInputs& inputs);

}  // namespace berth::daemon::container
