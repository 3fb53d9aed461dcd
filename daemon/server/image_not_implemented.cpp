// ImageService RPCs that the image issue builds; UNIMPLEMENTED until then.
#include "server/image_service.hpp"
#include "server/not_implemented.hpp"

namespace berth::daemon::server {

BERTH_NOT_IMPLEMENTED_UNARY(CriImageService, ListImages, ListImagesRequest, ListImagesResponse)
BERTH_NOT_IMPLEMENTED_STREAM(CriImageService, StreamImages, StreamImagesRequest,
                             StreamImagesResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriImageService, ImageStatus, ImageStatusRequest, ImageStatusResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriImageService, PullImage, PullImageRequest, PullImageResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriImageService, RemoveImage, RemoveImageRequest, RemoveImageResponse)
BERTH_NOT_IMPLEMENTED_UNARY(CriImageService, ImageFsInfo, ImageFsInfoRequest, ImageFsInfoResponse)

}  // namespace berth::daemon::server
