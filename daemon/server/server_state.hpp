// What every RPC handler may use: the configuration, the runtime handler
// table, the image store, the pod sandboxes, the runtimes and containers, and
// kubelet's pod CIDR.
#pragma once

#include <mutex>
#include <string>

#include "berth/oci/runtime_handlers.hpp"
#include "berth/storage/image_storage.hpp"
#include "config_holder.hpp"
#include "container/container_manager.hpp"
#include "container/runtime_set.hpp"
#include "events/event_bus.hpp"
#include "metrics/registry.hpp"
#include "sandbox/sandbox_manager.hpp"
#include "sandbox/sandbox_store.hpp"
#include "stats/stats_collector.hpp"
#include "streaming/container_stream_backend.hpp"
#include "streaming/streaming_server.hpp"

namespace berth::daemon::server {

class ServerState {
public:
    // `conmon` is berth-conmon's path, "" when it is missing.
    ServerState(ConfigHolder& config, std::string unpack_helper, std::string conmon = "")
        : config_(config),
          handlers_(config.current()->runtime),
          images_(*config.current(), std::move(unpack_helper)),
          sandbox_store_(config.current()->root + "/sandboxes"),
          runtimes_(*config.current(), std::move(conmon)),
          sandboxes_(config.current(), handlers_, runtimes_, sandbox_store_),
          container_store_(config.current()->root + "/containers"),
          events_(static_cast<std::size_t>(config.current()->api.events_queue_size)),
          containers_(config, sandbox_store_, images_, runtimes_, container_store_, &events_),
          stream_backend_(containers_, sandbox_store_),
          streaming_(stream_backend_),
          stats_(container_store_, sandbox_store_, images_) {}

    ConfigHolder& config() { return config_; }
    const oci::RuntimeHandlers& handlers() const { return handlers_; }
    sandbox::SandboxManager& sandboxes() { return sandboxes_; }
    storage::ImageStorage& images() { return images_; }
    container::ContainerManager& containers() { return containers_; }
    stats::StatsCollector& stats() { return stats_; }
    const container::RuntimeSet& runtimes() const { return runtimes_; }
    // GetContainerEvents subscribes here; ContainerManager publishes.
    events::EventBus& events() { return events_; }
    metrics::Registry& metrics() { return metrics_; }
    // Started by berthd before it serves; the Exec, Attach and PortForward
    // RPCs hand out its URLs.
    streaming::StreamingServer& streaming() { return streaming_; }

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
    container::RuntimeSet runtimes_;  // before sandboxes_, which starts sandbox tasks with it
    sandbox::SandboxManager sandboxes_;
    container::ContainerStore container_store_;
    events::EventBus events_;  // before containers_, which publishes on it
    container::ContainerManager containers_;
    streaming::ContainerStreamBackend stream_backend_;
    streaming::StreamingServer streaming_;
    stats::StatsCollector stats_;  // samples kept between stats calls
    metrics::Registry metrics_;
    mutable std::mutex mutex_;
    std::string pod_cidr_;  // from kubelet's UpdateRuntimeConfig
};

}  // namespace berth::daemon::server
