// The CRI ImageService, one file per RPC, over storage::ImageStorage.
#pragma once

#include "berth/cri_api.hpp"
#include "server/server_state.hpp"

namespace berth::daemon::server {

namespace v1 = ::runtime::v1;

class CriImageService final : public v1::ImageService::Service {
public:
    explicit CriImageService(ServerState& state) : state_(state) {}

    grpc::Status ListImages(grpc::ServerContext* context, const v1::ListImagesRequest* request,
                            v1::ListImagesResponse* response) override;
    grpc::Status StreamImages(grpc::ServerContext* context, const v1::StreamImagesRequest* request,
                              grpc::ServerWriter<v1::StreamImagesResponse>* writer) override;
    grpc::Status ImageStatus(grpc::ServerContext* context, const v1::ImageStatusRequest* request,
                             v1::ImageStatusResponse* response) override;
    grpc::Status PullImage(grpc::ServerContext* context, const v1::PullImageRequest* request,
                           v1::PullImageResponse* response) override;
    grpc::Status RemoveImage(grpc::ServerContext* context, const v1::RemoveImageRequest* request,
                             v1::RemoveImageResponse* response) override;
    grpc::Status ImageFsInfo(grpc::ServerContext* context, const v1::ImageFsInfoRequest* request,
                             v1::ImageFsInfoResponse* response) override;

private:
    ServerState& state_;
};

}  // namespace berth::daemon::server
