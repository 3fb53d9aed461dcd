// A container event (events/container_event.hpp) as the CRI's
// ContainerEventResponse, built from the snapshots the event carries.
#pragma once

#include "berth/cri_api.hpp"
#include "events/container_event.hpp"

namespace berth::daemon::server {

runtime::v1::ContainerEventType to_cri(events::ContainerEventType type);
void fill_container_event(const events::ContainerEvent& event,
                          runtime::v1::ContainerEventResponse* out);

}  // namespace berth::daemon::server
