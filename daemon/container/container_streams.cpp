// ContainerManager's part in Exec and Attach: finding the running container
// and asking its runtime for a live stdio connection.
#include "container/container_manager.hpp"
#include "status_error.hpp"

namespace berth::daemon::container {

std::string ContainerManager::running_container(const std::string& id_or_prefix) const {
    const std::string id = store_.resolve(id_or_prefix);
    const auto record = store_.get(id);
    if (!record || record->state != ContainerState::Running) {
        throw failed_precondition(
            "container " + id + " is not running" +
            (record ? std::string(" (") + to_string(record->state) + ")" : std::string()));
    }
    return id;
}

std::unique_ptr<oci::ProcessIo> ContainerManager::open_exec(const std::string& id,
                                                            const oci::ExecOptions& options) {
    const auto record = store_.get(running_container(id));
    return runtimes_.get(record->runtime_handler).exec(id, options);
}

std::unique_ptr<oci::ProcessIo> ContainerManager::open_attach(const std::string& id, bool stdin,
                                                              bool tty) {
    const auto record = store_.get(running_container(id));
    if (stdin && !record->config.stdin()) {
        throw failed_precondition("container " + id +
                                  " was not created with stdin: nothing to attach input to");
    }
    oci::AttachOptions options;
    options.stdin = stdin;
    options.tty = tty && record->config.tty();
    options.stdin_once = record->config.stdin_once();
    return runtimes_.get(record->runtime_handler).attach(id, options);
}

}  // namespace berth::daemon::container
