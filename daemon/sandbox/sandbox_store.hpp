// Every pod sandbox the daemon knows, with the name registrar (one sandbox
// per k8s_POD_... name) and the durable records under <root>/sandboxes.
//
// Readers get immutable snapshots (shared_ptr<const Sandbox>), so a slow
// StopPodSandbox never blocks PodSandboxStatus; writers persist a new record
// first and then swap it in. Lifecycle operations on one sandbox are
// serialised by its operation mutex.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sandbox/sandbox.hpp"

namespace berth::daemon::sandbox {

class SandboxStore {
public:
    explicit SandboxStore(std::string state_dir);

    const std::string& state_dir() const { return state_dir_; }
    std::string directory_of(const std::string& id) const { return state_dir_ + "/" + id; }

    // Claims `name` for `id`; throws ALREADY_EXISTS naming the holder.
    void reserve_name(const std::string& name, const std::string& id);
    void release_name(const std::string& name, const std::string& id);

    // Writes the record durably, then makes it the current snapshot.
    void put(const Sandbox& record);
    // Forgets the sandbox (memory, disk record directory, name).
    void erase(const std::string& id);

    // A full id from an id or a unique prefix of one; throws NOT_FOUND for no
    // match and INVALID_ARGUMENT for an ambiguous prefix.
    std::string resolve(const std::string& id_or_prefix) const;
    // nullptr when unknown.
    std::shared_ptr<const Sandbox> get(const std::string& id) const;
    std::vector<std::shared_ptr<const Sandbox>> list() const;
    std::shared_ptr<std::mutex> operation_lock(const std::string& id) const;

    // Reads every record on disk into the store (used once at start). Records
    // that cannot be read are reported in `problems` and left alone.
    void load(std::vector<std::string>& problems);

private:
    struct Entry {
        std::shared_ptr<const Sandbox> record;
        std::shared_ptr<std::mutex> operation = std::make_shared<std::mutex>();
    };

    std::string record_path(const std::string& id) const;

    std::string state_dir_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
    std::map<std::string, std::string> names_;  // name -> id
};

}  // namespace berth::daemon::sandbox
