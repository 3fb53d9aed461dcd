#include <chrono>

#include "server/image_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriImageService::ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                          v1::ImageFsInfoResponse* response) {
    return rpc_status("ImageFsInfo", [&] {
        const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        auto& images = state_.images();
        const auto image_usage = images.image_usage();
        auto* image_fs = response->add_image_filesystems();
        image_fs->set_timestamp(now);
        image_fs->mutable_fs_id()->set_mountpoint(images.layout().base().string());
        image_fs->mutable_used_bytes()->set_value(image_usage.bytes);
        image_fs->mutable_inodes_used()->set_value(image_usage.inodes);

        // The containers' writable layers, summed: one filesystem entry, as
        // kubelet accounts filesystems, not containers.
        std::uint64_t bytes = 0, inodes = 0;
        for (const auto& [container, usage] : images.container_usage()) {
            bytes += usage.bytes;
            inodes += usage.inodes;
        }
        auto* container_fs = response->add_container_filesystems();
        container_fs->set_timestamp(now);
        container_fs->mutable_fs_id()->set_mountpoint(images.layout().container_layers().string());
        container_fs->mutable_used_bytes()->set_value(bytes);
        container_fs->mutable_inodes_used()->set_value(inodes);
    });
}

}  // namespace berth::daemon::server
