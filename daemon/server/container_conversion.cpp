#include "server/container_conversion.hpp"

#include "container/stop_signal.hpp"
#include "server/label_selector.hpp"

namespace berth::daemon::server {

namespace v1 = runtime::v1;

void fill_container(const container::Container& record, v1::Container* out) {
    out->set_id(record.id);
    out->set_pod_sandbox_id(record.sandbox_id);
    *out->mutable_metadata() = record.config.metadata();
    *out->mutable_image() = record.config.image();
    out->set_image_ref(record.image_ref);
    out->set_image_id(record.image_id);
    out->set_state(container::to_cri(record.state));
    out->set_created_at(record.created_at);
    *out->mutable_labels() = record.config.labels();
    *out->mutable_annotations() = record.config.annotations();
}

void fill_container_status(const container::Container& record, v1::ContainerStatus* out) {
    out->set_id(record.id);
    *out->mutable_metadata() = record.config.metadata();
    out->set_state(container::to_cri(record.state));
    out->set_created_at(record.created_at);
    out->set_started_at(record.started_at);
    out->set_finished_at(record.finished_at);
    out->set_exit_code(record.exit_code);
    *out->mutable_image() = record.config.image();
    out->set_image_ref(record.image_ref);
    out->set_image_id(record.image_id);
    out->set_reason(record.reason);
    out->set_message(record.message);
    *out->mutable_labels() = record.config.labels();
    *out->mutable_annotations() = record.config.annotations();
    *out->mutable_mounts() = record.config.mounts();
    out->set_log_path(record.log_path);
    out->set_stop_signal(container::cri_signal(container::stop_signal_number(record.stop_signal)));
    if (record.config.linux().has_resources()) {
        *out->mutable_resources()->mutable_linux() = record.config.linux().resources();
    }
    // The identity the runtime gave the first process: exactly the spec's
    // uid, gid and groups (setgroups with additionalGids, which already hold
    // the image's /etc/group memberships under the Merge policy). A pid is
    // not read here: a VM runtime's pids are the guest's.
    if (record.user) {
        auto* linux_user = out->mutable_user()->mutable_linux();
        linux_user->set_uid(record.user->uid);
        linux_user->set_gid(record.user->gid);
        for (const auto group : record.user->groups)
            linux_user->add_supplemental_groups(group);
    }
}

bool matches(const container::Container& record, const v1::ContainerFilter& filter) {
    if (!filter.id().empty() && record.id.compare(0, filter.id().size(), filter.id()) != 0) {
        return false;
    }
    if (!filter.pod_sandbox_id().empty() &&
        record.sandbox_id.compare(0, filter.pod_sandbox_id().size(), filter.pod_sandbox_id()) !=
            0) {
        return false;
    }
    if (filter.has_state() && filter.state().state() != container::to_cri(record.state)) {
        return false;
    }
    return labels_match(record.config.labels(), filter.label_selector());
}

}  // namespace berth::daemon::server
