// What the streaming server needs from the rest of berthd, checked again
// when the client connects (the container may have stopped since the URL was
// handed out). Tests give the server a fake one.
#pragma once

#include <memory>
#include <string>

#include "berth/oci/process_io.hpp"
#include "streaming/stream_request.hpp"

namespace berth::daemon::streaming {

class StreamBackend {
public:
    virtual ~StreamBackend() = default;
    // Throw StatusError or RuntimeError with a message for the client.
    virtual std::unique_ptr<oci::ProcessIo> open_exec(const StreamRequest& request) = 0;
    virtual std::unique_ptr<oci::ProcessIo> open_attach(const StreamRequest& request) = 0;
    // The pod's network namespace ("" for host network).
    virtual std::string pod_network_namespace(const std::string& sandbox_id) = 0;
};

}  // namespace berth::daemon::streaming
