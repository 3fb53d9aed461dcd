#include <spdlog/spdlog.h>

#include <chrono>

#include "berth/storage/registry_client.hpp"
#include "server/image_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriImageService::PullImage(grpc::ServerContext*, const v1::PullImageRequest* request,
                                        v1::PullImageResponse* response) {
    const auto began = std::chrono::steady_clock::now();
    const auto status = rpc_status("PullImage", [&] {
        const std::string& image = request->image().image();
        if (image.empty()) {
            throw invalid_argument("no image given");
        }
        storage::RegistryCredentials credentials;
        const auto& auth = request->auth();
        credentials.username = auth.username();
        credentials.password = auth.password();
        if (!auth.auth().empty()) {
            credentials.set_auth_field(auth.auth());
        }
        credentials.identity_token = auth.identity_token();
        credentials.registry_token = auth.registry_token();
        spdlog::info("PullImage {}", image);
        // The configuration of this moment: a reload during a pull changes
        // mirrors for the next pull, not this one.
        const auto config = state_.config().current();
        const auto record = state_.images().pull(image, credentials, config->image);
        response->set_image_ref(record.id);
    });
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
    state_.metrics().pulls.record(status.ok(), took.count());
    return status;
}

}  // namespace berth::daemon::server
