#include <spdlog/spdlog.h>

#include "server/image_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriImageService::RemoveImage(grpc::ServerContext*,
                                          const v1::RemoveImageRequest* request,
                                          v1::RemoveImageResponse*) {
    return rpc_status("RemoveImage", [&] {
        const std::string& image = request->image().image();
        if (image.empty()) {
            throw invalid_argument("no image given");
        }
        try {
            state_.images().remove(image, state_.config().current()->image);
            spdlog::info("RemoveImage {}", image);
        } catch (const storage::StorageError& error) {
            // Removing what is already gone succeeds: the CRI asks for
            // idempotence, and kubelet's image GC relies on it.
            if (error.kind() != storage::ErrorKind::NotFound)
                throw;
        }
    });
}

}  // namespace berth::daemon::server
