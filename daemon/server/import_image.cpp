#include <spdlog/spdlog.h>

#include "request_paths.hpp"
#include "server/berth_image_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status BerthImageService::ImportImage(grpc::ServerContext*,
                                            const ::berth::v1::ImportImageRequest* request,
                                            ::berth::v1::ImportImageResponse* response) {
    return rpc_status("ImportImage", [&] {
        request_paths::require_absolute_path("path", request->path());
        spdlog::info("ImportImage {}", request->path());
        for (const auto& record : state_.images().import(request->path())) {
            auto* image = response->add_images();
            image->set_id(record.id);
            for (const auto& tag : record.repo_tags)
                image->add_repo_tags(tag);
        }
    });
}

}  // namespace berth::daemon::server
