// Image records in CRI's terms, and the ListImages filter.
#pragma once

#include "berth/config/config.hpp"
#include "berth/cri_api.hpp"
#include "berth/storage/image_record.hpp"

namespace berth::daemon::server {

void fill_image(const storage::ImageRecord& record, const config::ImageConfig& config,
                ::runtime::v1::Image* image);

}  // namespace berth::daemon::server
