// The streaming server's view of berthd's containers and pods.
#pragma once

#include "container/container_manager.hpp"
#include "sandbox/sandbox_store.hpp"
#include "streaming/stream_backend.hpp"

namespace berth::daemon::streaming {

class ContainerStreamBackend final : public StreamBackend {
public:
    ContainerStreamBackend(container::ContainerManager& containers,
                           const sandbox::SandboxStore& sandboxes)
        : containers_(containers), sandboxes_(sandboxes) {}

    std::unique_ptr<oci::ProcessIo> open_exec(const StreamRequest& request) override;
    std::unique_ptr<oci::ProcessIo> open_attach(const StreamRequest& request) override;
    std::string pod_network_namespace(const std::string& sandbox_id) override;

private:
    container::ContainerManager& containers_;
    const sandbox::SandboxStore& sandboxes_;
};

}  // namespace berth::daemon::streaming
