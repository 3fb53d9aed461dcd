#include <nlohmann/json.hpp>

#include "berth/storage/atomic_file.hpp"
#include "server/container_conversion.hpp"
#include "server/runtime_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriRuntimeService::ContainerStatus(grpc::ServerContext*,
                                                const v1::ContainerStatusRequest* request,
                                                v1::ContainerStatusResponse* response) {
    return rpc_status("ContainerStatus", [&] {
        const auto& store = state_.containers().store();
        const auto record = store.get(store.resolve(request->container_id()));
        if (!record || record->state == container::ContainerState::Creating) {
            throw not_found("container \"" + request->container_id() + "\" not found");
        }
        fill_container_status(*record, response->mutable_status());
        if (request->verbose()) {
            nlohmann::json spec;
            try {
                spec = nlohmann::json::parse(
                    storage::read_whole_file(record->bundle + "/config.json"));
            } catch (const std::exception&) {
                spec = nullptr;
            }
            const nlohmann::json info = {
                {"pid", record->pid},
                {"sandboxID", record->sandbox_id},
                {"runtimeHandler", record->runtime_handler},
                {"bundle", record->bundle},
                {"rootfs", record->rootfs},
                {"runtimeSpec", spec},
            };
            (*response->mutable_info())["info"] = info.dump();
        }
    });
}

}  // namespace berth::daemon::server
