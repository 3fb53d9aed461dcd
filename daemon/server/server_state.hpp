// What every RPC handler may use: the configuration, the runtime handler
// table, the image store, the pod sandboxes, and kubelet's pod CIDR. The container store joins
// it with the containers issue.
#pragma once

#include <mutex>
#include <string>

#include "berth/oci/runtime_handlers.hpp"
#include "berth/storage/image_storage.hpp"
#include "config_holder.hpp"
#include "sandbox/sandbox_manager.hpp"
#include "sandbox/sandbox_store.hpp"

namespace berth::daemon::server {

class ServerState {
public:
    ServerState(ConfigHolder& config, std::string unpack_helper)
        : config_(config),
          handlers_(config.current()->runtime),
          images_(*config.current(), std::move(unpack_helper)),
          sandbox_store_(config.current()->root + "/sandboxes"),
          sandboxes_(config.current(), handlers_, sandbox_store_) {}

    ConfigHolder& config() { return config_; }
    const oci::RuntimeHandlers& handlers() const { return handlers_; }
    sandbox::SandboxManager& sandboxes() { return sandboxes_; }
    storage::ImageStorage& images() { return images_; }

    void set_pod_cidr(std::string cidr) {
        std::lock_guard lock(mutex_);
        pod_cidr_ = std::move(cidr);
    }
    std::string pod_cidr() const {
        std::lock_guard lock(mutex_);
        return pod_cidr_;
    }

private:
    ConfigHolder& config_;
    const oci::RuntimeHandlers handlers_;
    storage::ImageStorage images_;
    sandbox::SandboxStore sandbox_store_;
    sandbox::SandboxManager sandboxes_;
    mutable std::mutex mutex_;
    std::string pod_cidr_;  // from kubelet's UpdateRuntimeConfig
};

}  // namespace berth::daemon::server
