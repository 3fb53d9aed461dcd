// Pods with a user namespace of their own (userns_options mode POD) on a real
// berthd with real runc and CNI: the mapping inside, what the pod's root may
// and may not do, on-disk owners of files made in the idmapped root
// filesystem and volumes, refused requests, a daemon restart, and cleanup.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>

#include "berthd_instance.hpp"
#include "cri_session.hpp"
#include "test_network.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::CriSession;
using berth::test::deadline_context;
using berth::test::read_file;
using berth::test::TestNetwork;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

class UserNamespaceTest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        registry_ = new TestRegistry();
        ASSERT_TRUE(registry_->start()) << registry_->log();
        registry_->push("busybox:multi");
    }
    static void TearDownTestSuite() {
        delete registry_;
        registry_ = nullptr;
    }

    void SetUp() override {
        daemon_ = std::make_unique<BerthdInstance>();
        // The pod's root (host uid 100000) must traverse to its root
        // filesystem and volumes, as it may through /var/lib on a node;
        // berthd opens its own root and below, the test opens the rest.
        fs::permissions(daemon_->dir().path(), fs::perms::others_exec, fs::perm_options::add);
        daemon_->dir().write("net.d/10-test.conflist", network_.conflist(daemon_->dir() / "ipam"));
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
        cri_ = std::make_unique<CriSession>(*daemon_);
        cri_->pull(image());
    }

    void TearDown() override {
        if (cri_)
            cri_->remove_all_pods();
        cri_.reset();
        daemon_.reset();
    }

    static std::string image() { return registry_->host() + "/busybox:multi"; }

    v1::PodSandboxConfig userns_pod(const std::string& name, std::uint32_t host_id,
                                    std::uint32_t length = 65536) const {
        auto config = cri_->pod_config(name);
        CriSession::use_pod_user_namespace(config, host_id, length);
        return config;
    }

    std::string run_pod(const v1::PodSandboxConfig& config) {
        std::string id;
        const auto status = cri_->run_pod_config(config, &id);
        EXPECT_TRUE(status.ok()) << status.error_message() << daemon_->log();
        return id;
    }

    // A sleeping busybox that may set its hostname and write /proc/sys (which
    // is otherwise read-only).
    static v1::ContainerConfig sleeper(const std::string& name) {
        auto config = CriSession::container(name, image(), {"sleep", "3600"});
        auto* context = config.mutable_linux()->mutable_security_context();
        // Capabilities of the pod's user namespace: they count for the
        // network and UTS namespaces it owns, and for nothing of the host's.
        context->mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
        context->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
        context->add_readonly_paths("/proc/bus");
        return config;
    }

    grpc::StatusCode refusal(const v1::PodSandboxConfig& config, std::string* message) {
        std::string id;
        const auto status = cri_->run_pod_config(config, &id);
        *message = status.error_message();
        return status.error_code();
    }

    fs::path container_dir(const std::string& id) const {
        return daemon_->dir() / ("root/storage/containers/" + id);
    }

    static uid_t owner(const fs::path& path) {
        struct stat info {};
        EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
        return info.st_uid;
    }

    static inline TestRegistry* registry_ = nullptr;
    TestNetwork network_;
    std::unique_ptr<BerthdInstance> daemon_;
    std::unique_ptr<CriSession> cri_;
};

const std::regex kMapping(R"(^\s*0\s+100000\s+65536\s*$)");

TEST_F(UserNamespaceTest, StatusReportsSupport) {
    v1::StatusRequest request;
    v1::StatusResponse response;
    ASSERT_TRUE(cri_->runtime().Status(deadline_context().get(), request, &response).ok());
    ASSERT_GT(response.runtime_handlers_size(), 0);
    for (const auto& handler : response.runtime_handlers())
        EXPECT_TRUE(handler.features().user_namespaces()) << handler.name();
}

TEST_F(UserNamespaceTest, PodRootIsRootOnlyInsideThePod) {
    auto config = userns_pod("mapped", 100000);
    (*config.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "42";
    const std::string pod = run_pod(config);
    ASSERT_FALSE(pod.empty());
    const auto status = cri_->pod_status(pod).status();
    const auto& reported = status.linux().namespaces().options().userns_options();
    EXPECT_EQ(reported.mode(), v1::POD);
    ASSERT_EQ(reported.uids_size(), 1);
    EXPECT_EQ(reported.uids(0).host_id(), 100000u);

    const fs::path volume = daemon_->dir() / "volume";
    fs::create_directories(volume);
    const fs::path host_file = daemon_->dir() / "host-file";
    std::ofstream(host_file) << "host\n";
    auto container = sleeper("inside");
    auto* mount = container.add_mounts();
    mount->set_container_path("/vol");
    mount->set_host_path(volume);
    const std::string id = cri_->run(pod, container);
    ASSERT_FALSE(id.empty());

    EXPECT_TRUE(std::regex_match(cri_->shell(id, "cat /proc/self/uid_map"), kMapping));
    EXPECT_TRUE(std::regex_match(cri_->shell(id, "cat /proc/self/gid_map"), kMapping));
    EXPECT_NE(cri_->shell(id, "id").find("uid=0(root) gid=0(root)"), std::string::npos);
    // The image's files keep their owners (the layers are idmapped).
    EXPECT_EQ(cri_->shell(id, "stat -c %u:%g /bin/busybox /home/app"), "0:0\n1000:1000\n");

    // Its network and UTS namespaces belong to its user namespace.
    EXPECT_EQ(cri_->shell(id, "cat /proc/sys/net/ipv4/ip_unprivileged_port_start"), "42\n");
    EXPECT_EQ(cri_->shell(id,
                          "echo 1000 > /proc/sys/net/ipv4/ip_unprivileged_port_start && "
                          "cat /proc/sys/net/ipv4/ip_unprivileged_port_start"),
              "1000\n");
    EXPECT_EQ(cri_->shell(id, "hostname renamed && hostname"), "renamed\n");

    // Files its root makes: host uid 100000 in the writable layer; in an
    // idmapped volume the container's own id (0) is what lands on disk.
    EXPECT_EQ(cri_->shell(id, "touch /made-in-rootfs /vol/made-in-volume && echo ok"), "ok\n");
    EXPECT_EQ(owner(container_dir(id) / "upper/made-in-rootfs"), 100000u);
    EXPECT_EQ(owner(volume / "made-in-volume"), 0u);

    // What the host owns and did not map stays out of reach.
    EXPECT_EQ(cri_->shell(id, "stat -c %u /etc/hosts"), "65534\n");
    const std::string hosts = daemon_->dir() / ("root/sandboxes/" + pod + "/hosts");
    const std::string hosts_before = read_file(hosts);
    EXPECT_NE(cri_->shell(id, "echo planted >> /etc/hosts").find("|exit"), std::string::npos);
    EXPECT_EQ(read_file(hosts), hosts_before);
    EXPECT_NE(cri_->shell(id, "echo 3 > /proc/sys/vm/drop_caches").find("|exit"),
              std::string::npos);
    EXPECT_NE(cri_->shell(id, "mkdir -p /debug && mount -t debugfs none /debug").find("|exit"),
              std::string::npos);
}

TEST_F(UserNamespaceTest, PodWidePidNamespaceBelongsToIt) {
    // berth-pod-init joins the user namespace first, so the PID namespace it
    // makes is the pod's too, and runc may mount /proc for it.
    auto config = userns_pod("pidpod", 100000);
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::POD);
    const std::string pod = run_pod(config);
    ASSERT_FALSE(pod.empty());
    const std::string first = cri_->run(pod, sleeper("first"));
    const std::string second = cri_->run(pod, sleeper("second"));
    ASSERT_FALSE(first.empty());
    ASSERT_FALSE(second.empty());
    EXPECT_TRUE(std::regex_match(cri_->shell(first, "cat /proc/self/uid_map"), kMapping));
    // One PID namespace, whose PID 1 is the pod's init.
    EXPECT_EQ(cri_->shell(first, "cat /proc/1/comm"), "berth-pod-init\n");
    EXPECT_EQ(cri_->shell(first, "readlink /proc/self/ns/pid"),
              cri_->shell(second, "readlink /proc/self/ns/pid"));
}

TEST_F(UserNamespaceTest, RefusesBadRequests) {
    std::string message;
    const std::string first = run_pod(userns_pod("first", 200000));
    ASSERT_FALSE(first.empty());
    // Its last host id is the first one's first.
    EXPECT_EQ(refusal(userns_pod("overlap", 140000, 60001), &message),
              grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(message.find("userns_options.uids"), std::string::npos) << message;
    EXPECT_NE(message.find(first), std::string::npos) << message;
    EXPECT_FALSE(run_pod(userns_pod("adjacent", 265536)).empty());

    for (const auto mode : {v1::CONTAINER, v1::TARGET}) {
        auto config = userns_pod("mode", 400000);
        config.mutable_linux()
            ->mutable_security_context()
            ->mutable_namespace_options()
            ->mutable_userns_options()
            ->set_mode(mode);
        EXPECT_EQ(refusal(config, &message), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_NE(message.find("userns_options.mode"), std::string::npos) << message;
    }
    auto unmapped_root = userns_pod("unmapped", 400000);
    unmapped_root.mutable_linux()
        ->mutable_security_context()
        ->mutable_namespace_options()
        ->mutable_userns_options()
        ->mutable_uids(0)
        ->set_container_id(1);
    EXPECT_EQ(refusal(unmapped_root, &message), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(message.find("container id 0"), std::string::npos) << message;

    // Refused requests leave nothing pinned: only the two pods' namespaces.
    int pinned = 0;
    for (const auto& entry [[maybe_unused]] : fs::directory_iterator(daemon_->dir() / "run/userns"))
        ++pinned;
    EXPECT_EQ(pinned, 2);
}

TEST_F(UserNamespaceTest, SurvivesRestartAndLeavesNothingBehind) {
    const std::string pod = run_pod(userns_pod("restarted", 100000));
    ASSERT_FALSE(pod.empty());
    const fs::path volume = daemon_->dir() / "volume";
    fs::create_directories(volume);
    auto container = sleeper("before");
    auto* mount = container.add_mounts();
    mount->set_container_path("/vol");
    mount->set_host_path(volume);
    const std::string before = cri_->run(pod, container);
    ASSERT_FALSE(before.empty());

    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    cri_ = std::make_unique<CriSession>(*daemon_);
    EXPECT_EQ(cri_->pod_status(pod).status().state(), v1::SANDBOX_READY);
    EXPECT_EQ(cri_->status(before).status().state(), v1::CONTAINER_RUNNING);
    EXPECT_TRUE(std::regex_match(cri_->shell(before, "cat /proc/self/uid_map"), kMapping));
    const std::string after = cri_->run(pod, sleeper("after"));
    ASSERT_FALSE(after.empty());
    EXPECT_TRUE(std::regex_match(cri_->shell(after, "cat /proc/self/uid_map"), kMapping));
    // Both are in the one user namespace of the pod.
    EXPECT_EQ(cri_->shell(before, "readlink /proc/self/ns/user"),
              cri_->shell(after, "readlink /proc/self/ns/user"));

    EXPECT_TRUE(cri_->stop_pod(pod).ok());
    EXPECT_TRUE(cri_->remove_pod(pod).ok());
    const std::string mounts = read_file("/proc/self/mountinfo");
    for (const auto& id : {pod, before, after})
        EXPECT_EQ(mounts.find(id), std::string::npos) << id << " still mounted:\n" << mounts;
    EXPECT_FALSE(fs::exists(daemon_->dir() / ("run/userns/" + pod)));
    EXPECT_FALSE(fs::exists(container_dir(before)));
    EXPECT_FALSE(fs::exists(container_dir(after)));
    EXPECT_TRUE(fs::exists(volume));  // a volume is never deleted with its binds
}

}  // namespace
