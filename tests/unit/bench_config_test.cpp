// berth-bench's pod and container configs: built as kubelet builds them, so
// that a pod and its containers agree on their namespaces (CRI-O refuses a
// container that asks for a pod-wide PID namespace its pod was not run with).
#include <gtest/gtest.h>

#include "kubelet_config.hpp"

using namespace berth::bench;
namespace v1 = runtime::v1;

namespace {

PodIdentity identity() {
    PodIdentity pod;
    pod.name = "bench-pod-1";
    pod.namespace_ = "berth-bench";
    pod.uid = "0123abcd-uid";
    return pod;
}

PodSettings settings(bool host_network) {
    PodSettings settings;
    settings.host_network = host_network;
    settings.log_root = "/var/log/pods";
    settings.cgroup_parent = "/berth-bench/kubepods/besteffort/pod0123abcd-uid";
    settings.dns_servers = {"127.0.0.1"};
    settings.extra_labels = {{"berth-bench/run", "r1"}};
    return settings;
}

ContainerSpec container() {
    ContainerSpec spec;
    spec.name = "work";
    spec.image = "busybox:1";
    spec.command = {"sh", "-c", "sleep 1"};
    return spec;
}

void expect_same(const v1::NamespaceOption& a, const v1::NamespaceOption& b) {
    EXPECT_EQ(a.network(), b.network());
    EXPECT_EQ(a.pid(), b.pid());
    EXPECT_EQ(a.ipc(), b.ipc());
    EXPECT_EQ(a.target_id(), b.target_id());
}

}  // namespace

TEST(BenchConfig, PodAndContainerAgreeOnNamespacesWithPodNetwork) {
    const auto pod = kubelet_pod_config(identity(), settings(false));
    const auto& pod_ns = pod.linux().security_context().namespace_options();
    EXPECT_EQ(pod_ns.network(), v1::POD);
    EXPECT_EQ(pod_ns.pid(), v1::CONTAINER);
    EXPECT_EQ(pod_ns.ipc(), v1::POD);
    const auto config = kubelet_container_config(pod, container());
    ASSERT_TRUE(config.linux().security_context().has_namespace_options());
    expect_same(config.linux().security_context().namespace_options(), pod_ns);
}

TEST(BenchConfig, PodAndContainerAgreeOnNamespacesWithHostNetwork) {
    const auto pod = kubelet_pod_config(identity(), settings(true));
    const auto& pod_ns = pod.linux().security_context().namespace_options();
    EXPECT_EQ(pod_ns.network(), v1::NODE);
    EXPECT_EQ(pod_ns.pid(), v1::CONTAINER);
    EXPECT_EQ(pod_ns.ipc(), v1::POD);
    const auto config = kubelet_container_config(pod, container());
    ASSERT_TRUE(config.linux().security_context().has_namespace_options());
    expect_same(config.linux().security_context().namespace_options(), pod_ns);
    // kubelet leaves a host-network pod the node's hostname.
    EXPECT_EQ(pod.hostname(), "");
}

TEST(BenchConfig, PodCarriesKubeletsIdentityLabelsLogDirectoryAndCgroup) {
    const auto pod = kubelet_pod_config(identity(), settings(false));
    EXPECT_EQ(pod.metadata().name(), "bench-pod-1");
    EXPECT_EQ(pod.metadata().namespace_(), "berth-bench");
    EXPECT_EQ(pod.metadata().uid(), "0123abcd-uid");
    EXPECT_EQ(pod.metadata().attempt(), 0u);
    EXPECT_EQ(pod.hostname(), "bench-pod-1");
    EXPECT_EQ(pod.log_directory(), "/var/log/pods/berth-bench_bench-pod-1_0123abcd-uid");
    EXPECT_EQ(pod.linux().cgroup_parent(), "/berth-bench/kubepods/besteffort/pod0123abcd-uid");
    EXPECT_EQ(pod.labels().at("io.kubernetes.pod.name"), "bench-pod-1");
    EXPECT_EQ(pod.labels().at("io.kubernetes.pod.namespace"), "berth-bench");
    EXPECT_EQ(pod.labels().at("io.kubernetes.pod.uid"), "0123abcd-uid");
    EXPECT_EQ(pod.labels().at("berth-bench/run"), "r1");
    EXPECT_EQ(pod.linux().security_context().seccomp().profile_type(),
              v1::SecurityProfile::Unconfined);
}

TEST(BenchConfig, ContainerTakesThePodsIdentityAndKubeletsLogPath) {
    const auto pod = kubelet_pod_config(identity(), settings(false));
    auto spec = container();
    spec.restart_count = 2;
    const auto config = kubelet_container_config(pod, spec);
    EXPECT_EQ(config.metadata().name(), "work");
    EXPECT_EQ(config.metadata().attempt(), 2u);
    EXPECT_EQ(config.log_path(), "work/2.log");
    EXPECT_EQ(config.labels().at("io.kubernetes.container.name"), "work");
    EXPECT_EQ(config.labels().at("io.kubernetes.pod.name"), "bench-pod-1");
    EXPECT_EQ(config.labels().at("io.kubernetes.pod.namespace"), "berth-bench");
    EXPECT_EQ(config.labels().at("io.kubernetes.pod.uid"), "0123abcd-uid");
    EXPECT_EQ(config.image().image(), "busybox:1");
    ASSERT_EQ(config.command_size(), 3);
    EXPECT_EQ(config.command(2), "sleep 1");
    EXPECT_EQ(config.linux().security_context().seccomp().profile_type(),
              v1::SecurityProfile::Unconfined);
}

TEST(BenchConfig, PodCgroupFollowsKubeletsLayoutForEitherDriver) {
    EXPECT_EQ(pod_cgroup_parent("/berth-bench", CgroupDriver::Cgroupfs, "u-1"),
              "/berth-bench/kubepods/besteffort/podu-1");
    EXPECT_EQ(pod_cgroup_parent("/", CgroupDriver::Cgroupfs, "u-1"), "/kubepods/besteffort/podu-1");
    EXPECT_EQ(pod_cgroup_parent("/berth-bench", CgroupDriver::Systemd, "u-1"),
              "berth_bench-kubepods-besteffort-podu_1.slice");
    EXPECT_EQ(pod_cgroup_parent("/", CgroupDriver::Systemd, "u-1"),
              "kubepods-besteffort-podu_1.slice");
    EXPECT_EQ(pod_cgroup_parent("", CgroupDriver::Cgroupfs, "u-1"), "");
}
