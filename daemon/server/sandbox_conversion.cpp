#include "server/sandbox_conversion.hpp"

#include "server/label_selector.hpp"

namespace berth::daemon::server {

namespace v1 = runtime::v1;

v1::PodSandboxState cri_state(const sandbox::Sandbox& record) {
    return record.state == sandbox::SandboxState::Ready ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY;
}

void fill_pod_sandbox(const sandbox::Sandbox& record, v1::PodSandbox* out) {
    out->set_id(record.id);
    *out->mutable_metadata() = record.config.metadata();
    out->set_state(cri_state(record));
    out->set_created_at(record.created_at);
    *out->mutable_labels() = record.config.labels();
    *out->mutable_annotations() = record.config.annotations();
    out->set_runtime_handler(record.runtime_handler);
}

void fill_pod_sandbox_status(const sandbox::Sandbox& record, v1::PodSandboxStatus* out) {
    out->set_id(record.id);
    *out->mutable_metadata() = record.config.metadata();
    out->set_state(cri_state(record));
    out->set_created_at(record.created_at);
    out->mutable_network()->set_ip(record.ip);
    for (const auto& ip : record.additional_ips) {
        out->mutable_network()->add_additional_ips()->set_ip(ip);
    }
    *out->mutable_linux()->mutable_namespaces()->mutable_options() =
        record.config.linux().security_context().namespace_options();
    *out->mutable_labels() = record.config.labels();
    *out->mutable_annotations() = record.config.annotations();
    out->set_runtime_handler(record.runtime_handler);
}

bool matches(const sandbox::Sandbox& record, const v1::PodSandboxFilter& filter) {
    if (!filter.id().empty() && record.id.compare(0, filter.id().size(), filter.id()) != 0) {
        return false;
    }
    if (filter.has_state() && filter.state().state() != cri_state(record)) {
        return false;
    }
    return labels_match(record.config.labels(), filter.label_selector());
}

}  // namespace berth::daemon::server
