// ProcessIo for Attach to a container run by berth-conmon: a client of the
// monitor's attach socket (SOCK_SEQPACKET; packets from the monitor are one
// stream byte, 2 stdout or 3 stderr, then data; packets to it are stdin
// bytes) and a writer to its control fifo for terminal resizes. Detaching
// leaves the container running; the monitor closes the container's stdin
// when a stdin_once container's first client goes.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "berth/oci/process_io.hpp"
#include "berth/oci/runtime_impl.hpp"
#include "berth/oci/unique_fd.hpp"

namespace berth::oci {

class AttachSession final : public ProcessIo {
public:
    // Connects to the monitor. Throws RuntimeError(FailedPrecondition) when
    // the monitor is not listening (the container has stopped).
    AttachSession(const MonitorPaths& paths, const AttachOptions& options);

    std::optional<OutputChunk> read_output() override;
    bool write_input(std::string_view data) override;
    void close_input() override;
    void resize(std::uint16_t width, std::uint16_t height) override;
    std::optional<int> wait() override { return std::nullopt; }
    void cancel() override;

private:
    AttachOptions options_;
    std::string control_fifo_;
    UniqueFd socket_;
    UniqueFd wake_;
    std::mutex input_mutex_;
    bool input_closed_ = false;
};

}  // namespace berth::oci
