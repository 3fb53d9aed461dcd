// The part of Exec and Attach that both transports share once the client's
// streams are in place: open the process (reporting a failure on the error
// stream, where the client looks for it) and run the session.
#pragma once

#include "streaming/remote_command.hpp"
#include "streaming/stream_backend.hpp"

namespace berth::daemon::streaming {

void open_and_run(StreamBackend& backend, RemoteCommandStreams& streams,
                  const StreamRequest& request);

}  // namespace berth::daemon::streaming
