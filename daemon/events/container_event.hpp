// One change of a container's state, as GetContainerEvents reports it: the
// kind of change, when, and snapshots of the pod and of all of the pod's
// containers taken at that moment. The snapshots are the records' own
// immutable copies, so an event costs a few pointer copies; the server turns
// them into CRI messages only for the subscribers that exist.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "container/container.hpp"
#include "sandbox/sandbox.hpp"

namespace berth::daemon::events {

enum class ContainerEventType { Created, Started, Stopped, Deleted };

const char* to_string(ContainerEventType type);

struct ContainerEvent {
    ContainerEventType type = ContainerEventType::Created;
    std::string container_id;
    std::string sandbox_id;
    std::int64_t created_at = 0;  // ns since the epoch
    // nullptr when the pod is no longer known.
    std::shared_ptr<const sandbox::Sandbox> sandbox;
    // Every container of the pod after the change (a deleted container is
    // no longer among them), ordered by id.
    std::vector<std::shared_ptr<const container::Container>> containers;
};

}  // namespace berth::daemon::events
