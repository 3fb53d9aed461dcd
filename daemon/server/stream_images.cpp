#include "server/image_conversion.hpp"
#include "server/image_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

namespace {
// Images per streamed page: far from the gRPC message limit even with many
// tags per image.
constexpr int kPageSize = 100;
}  // namespace

grpc::Status CriImageService::StreamImages(grpc::ServerContext*,
                                           const v1::StreamImagesRequest* request,
                                           grpc::ServerWriter<v1::StreamImagesResponse>* writer) {
    return rpc_status("StreamImages", [&] {
        const auto config = state_.config().current();
        std::vector<storage::ImageRecord> records;
        const std::string& wanted = request->filter().image().image();
        if (wanted.empty()) {
            records = state_.images().list();
        } else if (auto record = state_.images().find(wanted, config->image)) {
            records.push_back(*record);
        }
        v1::StreamImagesResponse page;
        for (const auto& record : records) {
            fill_image(record, config->image, page.add_images());
            if (page.images_size() == kPageSize) {
                writer->Write(page);
                page.Clear();
            }
        }
        if (page.images_size() > 0) {
            writer->Write(page);
        }
    });
}

}  // namespace berth::daemon::server
