#include "server/image_conversion.hpp"
#include "server/image_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriImageService::ListImages(grpc::ServerContext*, const v1::ListImagesRequest* request,
                                         v1::ListImagesResponse* response) {
    return rpc_status("ListImages", [&] {
        const auto config = state_.config().current();
        const std::string& wanted = request->filter().image().image();
        if (!wanted.empty()) {
            if (auto record = state_.images().find(wanted, config->image)) {
                fill_image(*record, config->image, response->add_images());
            }
            return;
        }
        for (const auto& record : state_.images().list()) {
            fill_image(record, config->image, response->add_images());
        }
    });
}

}  // namespace berth::daemon::server
