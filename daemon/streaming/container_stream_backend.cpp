#include "streaming/container_stream_backend.hpp"

#include "status_error.hpp"

namespace berth::daemon::streaming {

std::unique_ptr<oci::ProcessIo> ContainerStreamBackend::open_exec(const StreamRequest& request) {
    oci::ExecOptions options;
    options.command = request.command;
    options.tty = request.tty;
    options.stdin = request.stdin;
    options.stdout = request.stdout;
    options.stderr = request.stderr;
    return containers_.open_exec(request.container_id, options);
}

std::unique_ptr<oci::ProcessIo> ContainerStreamBackend::open_attach(const StreamRequest& request) {
    return containers_.open_attach(request.container_id, request.stdin, request.tty);
}

std::string ContainerStreamBackend::pod_network_namespace(const std::string& sandbox_id) {
    const auto pod = sandboxes_.get(sandbox_id);
    if (!pod)
        throw not_found("pod sandbox " + sandbox_id + " is gone");
    return pod->netns_path;
}

}  // namespace berth::daemon::streaming
