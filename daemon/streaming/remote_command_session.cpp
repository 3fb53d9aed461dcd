#include "streaming/remote_command_session.hpp"

#include <spdlog/spdlog.h>

namespace berth::daemon::streaming {

void open_and_run(StreamBackend& backend, RemoteCommandStreams& streams,
                  const StreamRequest& request) {
    std::unique_ptr<oci::ProcessIo> process;
    try {
        process = request.kind == StreamKind::Attach ? backend.open_attach(request)
                                                     : backend.open_exec(request);
    } catch (const std::exception& error) {
        spdlog::info("{} in {} failed: {}", path_segment(request.kind), request.container_id,
                     error.what());
        streams.write_status(streams.json_status() ? stream::failure_status_json(error.what())
                                                   : std::string(error.what()));
        streams.shutdown();
        return;
    }
    run_remote_command(*process, streams, request);
}

}  // namespace berth::daemon::streaming
