#include "kubelet_config.hpp"

#include <sstream>

namespace berth::bench {
namespace v1 = runtime::v1;

namespace {

// kubelet's label keys, by which it finds its own pods and containers.
constexpr const char* kPodName = "io.kubernetes.pod.name";
constexpr const char* kPodNamespace = "io.kubernetes.pod.namespace";
constexpr const char* kPodUid = "io.kubernetes.pod.uid";
constexpr const char* kContainerName = "io.kubernetes.container.name";

std::string systemd_slice(const std::string& cgroupfs_path) {
    std::string slice;
    std::stringstream parts(cgroupfs_path);
    for (std::string part; std::getline(parts, part, '/');) {
        if (part.empty())
            continue;
        for (auto& c : part)
            if (c == '-')
                c = '_';
        slice += (slice.empty() ? "" : "-") + part;
    }
    return slice + ".slice";
}

void set_unconfined(v1::SecurityProfile& profile) {
    // kubelet without SeccompDefault asks for no filter in so many words.
    profile.set_profile_type(v1::SecurityProfile::Unconfined);
}

}  // namespace

v1::NamespaceOption kubelet_namespace_options(bool host_network) {
    v1::NamespaceOption options;
    options.set_network(host_network ? v1::NODE : v1::POD);
    options.set_pid(v1::CONTAINER);
    options.set_ipc(v1::POD);
    return options;
}

std::string pod_log_directory(const std::string& log_root, const PodIdentity& pod) {
    return log_root + "/" + pod.namespace_ + "_" + pod.name + "_" + pod.uid;
}

std::string container_log_path(const std::string& container, std::uint32_t restart_count) {
    return container + "/" + std::to_string(restart_count) + ".log";
}

std::string pod_cgroup_parent(const std::string& cgroup_root, CgroupDriver driver,
                              const std::string& uid) {
    if (cgroup_root.empty())
        return "";
    std::string path = cgroup_root == "/" ? "" : cgroup_root;
    path += "/kubepods/besteffort/pod" + uid;
    return driver == CgroupDriver::Cgroupfs ? path : systemd_slice(path);
}

v1::PodSandboxConfig kubelet_pod_config(const PodIdentity& pod, const PodSettings& settings) {
    v1::PodSandboxConfig config;
    auto& metadata = *config.mutable_metadata();
    metadata.set_name(pod.name);
    metadata.set_namespace_(pod.namespace_);
    metadata.set_uid(pod.uid);
    metadata.set_attempt(pod.attempt);
    auto& labels = *config.mutable_labels();
    for (const auto& [key, value] : settings.extra_labels)
        labels[key] = value;
    labels[kPodName] = pod.name;
    labels[kPodNamespace] = pod.namespace_;
    labels[kPodUid] = pod.uid;
    // kubelet leaves the hostname to the node's for host-network pods.
    if (!settings.host_network)
        config.set_hostname(pod.name.substr(0, 63));
    config.set_log_directory(pod_log_directory(settings.log_root, pod));
    for (const auto& server : settings.dns_servers)
        config.mutable_dns_config()->add_servers(server);
    auto& linux = *config.mutable_linux();
    if (!settings.cgroup_parent.empty())
        linux.set_cgroup_parent(settings.cgroup_parent);
    auto& security = *linux.mutable_security_context();
    *security.mutable_namespace_options() = kubelet_namespace_options(settings.host_network);
    set_unconfined(*security.mutable_seccomp());
    return config;
}

v1::ContainerConfig kubelet_container_config(const v1::PodSandboxConfig& pod,
                                             const ContainerSpec& spec) {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name(spec.name);
    config.mutable_metadata()->set_attempt(spec.restart_count);
    config.mutable_image()->set_image(spec.image);
    for (const auto& word : spec.command)
        config.add_command(word);
    auto& labels = *config.mutable_labels();
    for (const auto& [key, value] : spec.extra_labels)
        labels[key] = value;
    labels[kContainerName] = spec.name;
    labels[kPodName] = pod.metadata().name();
    labels[kPodNamespace] = pod.metadata().namespace_();
    labels[kPodUid] = pod.metadata().uid();
    (*config.mutable_annotations())["io.kubernetes.container.restartCount"] =
        std::to_string(spec.restart_count);
    config.set_log_path(container_log_path(spec.name, spec.restart_count));
    auto& security = *config.mutable_linux()->mutable_security_context();
    *security.mutable_namespace_options() = pod.linux().security_context().namespace_options();
    set_unconfined(*security.mutable_seccomp());
    return config;
}

}  // namespace berth::bench
