#include "server/image_conversion.hpp"

#include <charconv>

namespace berth::daemon::server {

void fill_image(const storage::ImageRecord& record, const config::ImageConfig& config,
                ::runtime::v1::Image* image) {
    image->set_id(record.id);
    for (const auto& tag : record.repo_tags)
        image->add_repo_tags(tag);
    for (const auto& digest : record.repo_digests)
        image->add_repo_digests(digest);
    image->set_size(record.size);
    image->mutable_spec()->set_image(record.id);
    image->set_pinned(storage::is_pinned(record, config.pinned_images));
    // kubelet checks runAsNonRoot against these: a numeric user is a uid,
    // anything else a name it cannot check. The group after ':' is not part
    // of either.
    const std::string user = record.config.user.substr(0, record.config.user.find(':'));
    if (!user.empty()) {
        std::int64_t uid = 0;
        const auto [end, error] = std::from_chars(user.data(), user.data() + user.size(), uid);
        if (error == std::errc() && end == user.data() + user.size()) {
            image->mutable_uid()->set_value(uid);
        } else {
            image->set_username(user);
        }
    }
}

}  // namespace berth::daemon::server
