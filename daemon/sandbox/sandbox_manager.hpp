// Pod sandbox lifecycle: RunPodSandbox, StopPodSandbox, RemovePodSandbox and
// restore at start. No pause container: namespaces are created and pinned by
// the daemon, networking is done with the CNI plugins, and everything a step
// created is undone when a later step fails.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "berth/config/config.hpp"
#include "berth/cri_api.hpp"
#include "berth/oci/runtime_handlers.hpp"
#include "container/runtime_set.hpp"
#include "pending_results.hpp"
#include "sandbox/sandbox_store.hpp"

namespace berth::daemon::sandbox {

class SandboxManager {
public:
    // `runtimes` starts and ends the sandbox task of pods whose runtime runs
    // one (VM runtimes).
    SandboxManager(std::shared_ptr<const config::Config> config,
                   const oci::RuntimeHandlers& handlers, const container::RuntimeSet& runtimes,
                   SandboxStore& store);

    // Returns the new sandbox's id. Throws StatusError. An identical request
    // whose first call is still running, or finished after its caller left,
    // gets that call's pod (see PendingResults); `caller` tells whether the
    // answer can still reach anyone when the pod is ready.
    std::string run(const runtime::v1::RunPodSandboxRequest& request, const Caller& caller = {});
    // Idempotent: a stopped sandbox, or one whose resources are gone, is fine.
    void stop(const std::string& id_or_prefix);
    // Idempotent: an unknown id is fine.
    void remove(const std::string& id_or_prefix);
    // UpdatePodSandboxResources: applies the pod-level limits (resources
    // plus overhead) to the pod's cgroup and records both in its config.
    // An unknown pod is NOT_FOUND, bad values INVALID_ARGUMENT.
    void update_resources(const std::string& id_or_prefix,
                          const runtime::v1::LinuxContainerResources& overhead,
                          const runtime::v1::LinuxContainerResources& resources);

    // An exit file named after a pod: its sandbox task ended (a VM runtime's
    // shim or VM went away), so the pod is no longer ready. False when `id`
    // is no pod (the exit is a container's).
    bool on_task_exit(const std::string& id);

    // Loads every record at start: half-created sandboxes are cleaned up,
    // ready ones whose namespaces did not survive (a reboot) become NotReady.
    void restore();

    const SandboxStore& store() const { return store_; }

private:
    void validate(const runtime::v1::RunPodSandboxRequest& request) const;
    // The work of RunPodSandbox, for the one call that holds the name.
    std::string create(const runtime::v1::RunPodSandboxRequest& request,
                       const std::string& fingerprint, PendingResults::Ticket& ticket);
    // Makes a kept pod visible for the retry that takes it; false when it is
    // gone (removed by id meanwhile).
    bool claim(const std::string& id, const std::string& name, const std::string& fingerprint);
    // Removes a kept pod nobody took.
    void undo_unclaimed(const std::string& id);
    // Namespaces pinned, init and sandbox task (if any) running.
    bool pod_alive(const Sandbox& record) const;
    void stop_locked(const std::string& id);
    // Runs body(full id) under the sandbox's operation lock; an unknown id
    // is not an error and runs nothing.
    template <typename Body>
    void with_sandbox_locked(const std::string& id_or_prefix, Body&& body);
    void release_network(Sandbox& record);
    void stop_init(Sandbox& record);
    // The runtime of a pod with a sandbox task; nullptr (logged) when its
    // handler cannot be used any more.
    oci::RuntimeImpl* sandbox_task_runtime(const Sandbox& record) const;
    void release_everything(Sandbox& record);
    // INVALID_ARGUMENT when `record`'s user namespace shares host ids with
    // another pod's; call with user_namespace_ranges_ held.
    void check_user_namespace_ranges(const Sandbox& record) const;

    std::shared_ptr<const config::Config> config_;
    const oci::RuntimeHandlers& handlers_;
    const container::RuntimeSet& runtimes_;
    SandboxStore& store_;
    // Held from the check that a pod's host id ranges are free until its
    // record is in the store, so that two pods cannot take the same ids.
    std::mutex user_namespace_ranges_;
    // Last: its timer undoes kept pods with the members above.
    PendingResults pending_;
};

}  // namespace berth::daemon::sandbox
