// What every RPC handler may read: the configuration, the runtime handler
// table, and the little state the daemon keeps before sandboxes and containers
// exist. Later issues add the sandbox and container stores here.
#pragma once

#include <mutex>
#include <string>

#include "berth/oci/runtime_handlers.hpp"
#include "config_holder.hpp"

namespace berth::daemon::server {

class ServerState {
public:
    explicit ServerState(ConfigHolder& config)
        : config_(config), handlers_(config.current()->runtime) {}

    ConfigHolder& config() { return config_; }
    const oci::RuntimeHandlers& handlers() const { return handlers_; }

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
    mutable std::mutex mutex_;
    std::string pod_cidr_;  // from kubelet's UpdateRuntimeConfig
};

}  // namespace berth::daemon::server
