// Berth's own image RPCs (proto/berth/images.proto): what operators need that
// the CRI lacks, such as importing images on a node without a registry.
#pragma once

#include "berth/images.grpc.pb.h"
#include "server/server_state.hpp"

namespace berth::daemon::server {

class BerthImageService final : public ::berth::v1::Images::Service {
public:
    explicit BerthImageService(ServerState& state) : state_(state) {}

    grpc::Status ImportImage(grpc::ServerContext* context,
                             const ::berth::v1::ImportImageRequest* request,
                             ::berth::v1::ImportImageResponse* response) override;

private:
    ServerState& state_;
};

}  // namespace berth::daemon::server
