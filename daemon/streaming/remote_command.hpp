// Exec and Attach once the client is connected, whatever carries the bytes
// (SPDY streams or WebSocket channels): input, resize and output pumped
// between the client and the process, then the outcome on the error stream.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "berth/oci/process_io.hpp"
#include "berth/stream/remote_command_status.hpp"
#include "streaming/stream_request.hpp"

namespace berth::daemon::streaming {

// The client's side of one session, as a transport presents it. Methods are
// called from several threads at once (one per direction).
class RemoteCommandStreams {
public:
    virtual ~RemoteCommandStreams() = default;

    virtual bool has_stdin() const = 0;
    // Blocks; 0 once the client's input has ended (or the client is gone).
    virtual std::size_t read_stdin(char* buffer, std::size_t size) = 0;
    // false when the client can no longer take output.
    virtual bool write_output(oci::OutputStream stream, std::string_view data) = 0;
    virtual void close_outputs() = 0;
    // Blocks until the client resizes its terminal; nullopt once it will not.
    virtual std::optional<stream::TerminalSize> next_resize() = 0;
    // The protocol's error stream: a JSON status from v4 on, else a message.
    virtual bool json_status() const = 0;
    virtual void write_status(std::string_view content) = 0;
    // Blocks until the client's connection has closed or shutdown() ran.
    virtual void wait_closed() = 0;
    // Ends the connection (after what was written has been sent); blocked
    // calls in other threads return.
    virtual void shutdown() = 0;
};

// Runs the session to its end: output until the process's output ends (or
// the client goes, which cancels the process), then the exit code or
// detach reported on the error stream.
void run_remote_command(oci::ProcessIo& process, RemoteCommandStreams& streams,
                        const StreamRequest& request);

// The command as error messages quote it: "sh -c exit 3".
std::string describe_command(const std::vector<std::string>& command);

}  // namespace berth::daemon::streaming
