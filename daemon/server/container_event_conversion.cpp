#include "server/container_event_conversion.hpp"

#include "server/container_conversion.hpp"
#include "server/sandbox_conversion.hpp"

namespace berth::daemon::server {

namespace v1 = runtime::v1;

v1::ContainerEventType to_cri(events::ContainerEventType type) {
    switch (type) {
    case events::ContainerEventType::Created:
        return v1::CONTAINER_CREATED_EVENT;
    case events::ContainerEventType::Started:
        return v1::CONTAINER_STARTED_EVENT;
    case events::ContainerEventType::Stopped:
        return v1::CONTAINER_STOPPED_EVENT;
    case events::ContainerEventType::Deleted:
        break;
    }
    return v1::CONTAINER_DELETED_EVENT;
}

void fill_container_event(const events::ContainerEvent& event, v1::ContainerEventResponse* out) {
    out->set_container_id(event.container_id);
    out->set_container_event_type(to_cri(event.type));
    out->set_created_at(event.created_at);
    if (event.sandbox)
        fill_pod_sandbox_status(*event.sandbox, out->mutable_pod_sandbox_status());
    for (const auto& container : event.containers)
        fill_container_status(*container, out->add_containers_statuses());
}

}  // namespace berth::daemon::server
