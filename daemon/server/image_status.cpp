#include <nlohmann/json.hpp>

#include "berth/storage/atomic_file.hpp"
#include "berth/storage/sha256.hpp"
#include "server/image_conversion.hpp"
#include "server/image_service.hpp"
#include "status_error.hpp"

namespace berth::daemon::server {

grpc::Status CriImageService::ImageStatus(grpc::ServerContext*,
                                          const v1::ImageStatusRequest* request,
                                          v1::ImageStatusResponse* response) {
    return rpc_status("ImageStatus", [&] {
        const std::string& wanted = request->image().image();
        if (wanted.empty()) {
            throw invalid_argument("no image given");
        }
        // An image that is not here is an empty answer, not an error: that
        // is how kubelet learns it must pull.
        const auto config = state_.config().current();
        const auto record = state_.images().find(wanted, config->image);
        if (!record)
            return;
        fill_image(*record, config->image, response->mutable_image());
        if (request->verbose()) {
            const auto& layout = state_.images().layout();
            nlohmann::json image_spec;
            try {
                image_spec = nlohmann::json::parse(storage::read_whole_file(
                    (layout.blobs() / storage::digest_hex(record->id)).string()));
            } catch (const std::exception&) {
                image_spec =
                    nullptr;  // imported before configs were kept: the record still says enough
            }
            nlohmann::json info = {
                {"id", record->id},
                {"manifestDigest", record->manifest_digest},
                {"manifestMediaType", record->manifest_media_type},
                {"chainID", record->layers.back()},
                {"layers", record->layers},
                {"imageSpec", image_spec},
                {"config", storage::to_json(record->config)},
            };
            (*response->mutable_info())["info"] = info.dump();
        }
    });
}

}  // namespace berth::daemon::server
