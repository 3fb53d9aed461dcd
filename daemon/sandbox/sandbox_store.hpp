// Every pod sandbox the daemon knows: a RecordStore of Sandbox records under
// <root>/sandboxes/<id>/sandbox.json, with the k8s_POD_... name registrar.
#pragma once

#include "record_store.hpp"
#include "sandbox/sandbox.hpp"

namespace berth::daemon {

template <>
struct RecordTraits<sandbox::Sandbox> {
    static constexpr const char* kind = "pod sandbox";
    static constexpr const char* noun = "pod";
    static constexpr const char* file = "sandbox.json";
};

namespace sandbox {
using SandboxStore = RecordStore<Sandbox>;
}  // namespace sandbox

}  // namespace berth::daemon
