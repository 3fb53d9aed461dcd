// Container records in CRI's terms, and the ListContainers filter.
#pragma once

#include "berth/cri_api.hpp"
#include "container/container.hpp"

namespace berth::daemon::server {

void fill_container(const container::Container& record, runtime::v1::Container* out);
void fill_container_status(const container::Container& record, runtime::v1::ContainerStatus* out);
bool matches(const container::Container& record, const runtime::v1::ContainerFilter& filter);

}  // namespace berth::daemon::server
