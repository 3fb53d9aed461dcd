// Berth's sandbox records as CRI messages, and the list filter.
#pragma once

#include "berth/cri_api.hpp"
#include "sandbox/sandbox.hpp"

namespace berth::daemon::server {

void fill_pod_sandbox(const sandbox::Sandbox& record, runtime::v1::PodSandbox* out);
void fill_pod_sandbox_status(const sandbox::Sandbox& record, runtime::v1::PodSandboxStatus* out);
runtime::v1::PodSandboxState cri_state(const sandbox::Sandbox& record);

// Every condition of the filter holds: id (full or prefix), state, and every
// label of the selector.
bool matches(const sandbox::Sandbox& record, const runtime::v1::PodSandboxFilter& filter);

}  // namespace berth::daemon::server
