// What an Exec, Attach or PortForward RPC asked for, kept under a token until
// the client connects to the streaming server with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "berth/oci/process_io.hpp"

namespace berth::daemon::streaming {

enum class StreamKind { Exec, Attach, PortForward };

struct StreamRequest {
    StreamKind kind = StreamKind::Exec;
    std::string container_id;  // Exec, Attach
    std::string sandbox_id;    // PortForward
    std::vector<std::string> command;
    bool tty = false;
    bool stdin = false;
    bool stdout = false;
    bool stderr = false;
    std::vector<std::int32_t> ports;  // PortForward: empty means any
};

const char* path_segment(StreamKind kind);  // "exec", "attach", "portforward"

}  // namespace berth::daemon::streaming
