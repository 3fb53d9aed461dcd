// Requests with which a hostile CRI client could make berthd (root) create
// or write files outside the directories they belong in, on a real berthd
// with real runc and berth-conmon: log paths that are absolute or climb out
// of the pod's log directory, pod and container names that put "../" into
// the default log layout, symbolic links planted in a log directory (when the
// container starts and when its log is rotated), a fifo as a seccomp profile,
// mount, device and checkpoint paths with "..". Each is refused with a
// status naming the field, or fails cleanly, and nothing outside changes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "berthd_instance.hpp"
#include "cri_session.hpp"
#include "cri_test.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::CriSession;
using berth::test::CriTest;
using berth::test::deadline_context;
using berth::test::read_file;
using berth::test::TempDir;
using berth::test::TestRegistry;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

// Enough "../" to reach / from any directory of the test.
std::string to_root() {
    std::string climb;
    for (int i = 0; i < 24; ++i)
        climb += "../";
    return climb;
}

class HostileInputTest : public CriTest {
protected:
    static void SetUpTestSuite() { start_registry({"busybox:multi"}); }

    void SetUp() override {
        start_daemon({}, {"busybox:multi"});
        { std::ofstream(precious_) << "precious\n"; }
    }

    static std::string image() { return reference("busybox:multi"); }

    static v1::ContainerConfig ticker(const std::string& name) {
        return CriSession::container(name, image(),
                                     {"sh", "-c", "while true; do echo tick; sleep 0.1; done"});
    }

    // Creates `config` and, should that be allowed, starts it and lets it
    // write for a moment, so that a path that got through shows where the
    // log went. The first failure is returned.
    grpc::Status create_and_run(const std::string& pod, const v1::ContainerConfig& config) {
        std::string id;
        const auto created = cri_->create(pod, config, &id);
        if (!created.ok())
            return created;
        const auto started = cri_->start(id);
        std::this_thread::sleep_for(1s);
        return started;
    }

    // The pod's log directory as it is on disk before its first container.
    std::string log_directory(const std::string& pod_name) {
        const std::string directory = daemon_->dir() / ("logs/" + pod_name);
        fs::create_directories(directory);
        return directory;
    }

    size_t container_count() {
        v1::ListContainersResponse response;
        auto context = deadline_context();
        EXPECT_TRUE(cri_->runtime().ListContainers(context.get(), {}, &response).ok());
        return static_cast<size_t>(response.containers_size());
    }

    static void expect_invalid(const grpc::Status& status, const std::string& field) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << status.error_message();
        EXPECT_NE(status.error_message().find(field), std::string::npos) << status.error_message();
    }

    // Stands for the node's files: outside every directory a request names.
    TempDir outside_;
    const std::string precious_ = outside_ / "precious";
};

TEST_F(HostileInputTest, LogPathThatClimbsOutOfTheLogDirectoryIsRefused) {
    const auto pod = cri_->run_pod("climb");
    const std::string target = outside_ / "pwn";
    auto config = ticker("c");
    config.set_log_path(to_root() + target.substr(1));
    expect_invalid(create_and_run(pod, config), "config.log_path");
    EXPECT_FALSE(fs::exists(target));
    // ".." anywhere, even where it would stay inside, and paths that name
    // no file.
    for (const char* bad : {"a/../c.log", "a/..", "c.log/", ".", "c\n.log"}) {
        config.set_log_path(bad);
        std::string id;
        expect_invalid(cri_->create(pod, config, &id), "config.log_path");
    }
    EXPECT_EQ(container_count(), 0u);
}

TEST_F(HostileInputTest, AbsoluteLogPathIsRefused) {
    const auto pod = cri_->run_pod("absolute");
    const std::string target = outside_ / "absolute.log";
    auto config = ticker("c");
    config.set_log_path(target);
    expect_invalid(create_and_run(pod, config), "config.log_path");
    EXPECT_FALSE(fs::exists(target));
    // What once changed the node's hostname, now refused before any open.
    config.set_log_path("/proc/sys/kernel/hostname");
    std::string id;
    expect_invalid(cri_->create(pod, config, &id), "config.log_path");
}

TEST_F(HostileInputTest, LogDirectoryMustBeAbsoluteWithoutDotDot) {
    for (const std::string& bad : {std::string("relative/logs"), daemon_->dir() / "logs/../../x",
                                   daemon_->dir() / "logs/a\nb"}) {
        auto config = cri_->pod_config("bad-dir");
        config.set_log_directory(bad);
        std::string id;
        expect_invalid(cri_->run_pod_config(config, &id), "config.log_directory");
        EXPECT_TRUE(id.empty());
    }
}

TEST_F(HostileInputTest, PodNamesThatWouldClimbOutOfTheDefaultLogLayoutAreRefused) {
    // No log_directory: the log goes to <log_dir>/<namespace>_<name>_<uid>/
    // <container>/<attempt>.log, which these names would have moved to
    // <outside>/t_pod_uid/c/0.log.
    auto config = cri_->pod_config("pod");
    config.clear_log_directory();
    config.mutable_metadata()->set_namespace_("x/" + to_root() +
                                              outside_.path().string().substr(1) + "/t");
    std::string pod;
    const auto status = cri_->run_pod_config(config, &pod);
    if (status.ok())
        create_and_run(pod, ticker("c"));
    expect_invalid(status, "config.metadata.namespace");
    EXPECT_FALSE(fs::exists(outside_ / "t_pod_uid"));

    const std::pair<std::string, std::string> bad[] = {
        {"config.metadata.name", ".."},
        {"config.metadata.name", "."},
        {"config.metadata.name", "a/b"},
        {"config.metadata.uid", "../x"},
        {"config.metadata.uid", "x\0y"s},
        {"config.metadata.namespace", "tab\there"},
        {"config.metadata.name", std::string(10 * 1024, 'n')},
    };
    for (const auto& [field, value] : bad) {
        config = cri_->pod_config("pod");
        config.clear_log_directory();
        if (field == "config.metadata.name")
            config.mutable_metadata()->set_name(value);
        else if (field == "config.metadata.uid")
            config.mutable_metadata()->set_uid(value);
        else
            config.mutable_metadata()->set_namespace_(value);
        std::string id;
        expect_invalid(cri_->run_pod_config(config, &id), field);
    }
}

TEST_F(HostileInputTest, PodMetadataThatWouldAddCniArgumentsIsRefused) {
    // CNI_ARGS is "IgnoreUnknown=1;K8S_POD_NAMESPACE=<namespace>;K8S_POD_NAME=<name>;...":
    // this name would hand host-local an IP argument of the caller's choosing.
    auto config = cri_->pod_config("pod");
    config.mutable_metadata()->set_name("web;IP=10.88.0.200");
    std::string pod;
    expect_invalid(cri_->run_pod_config(config, &pod), "config.metadata.name");
    config = cri_->pod_config("pod");
    config.mutable_metadata()->set_namespace_("default;K8S_POD_NAME=other");
    expect_invalid(cri_->run_pod_config(config, &pod), "config.metadata.namespace");
    v1::ListPodSandboxResponse response;
    auto context = deadline_context();
    ASSERT_TRUE(cri_->runtime().ListPodSandbox(context.get(), {}, &response).ok());
    EXPECT_EQ(response.items_size(), 0);
}

TEST_F(HostileInputTest, ContainerNamesThatAreNotOneComponentAreRefused) {
    auto pod_config = cri_->pod_config("names");
    pod_config.clear_log_directory();
    std::string pod;
    ASSERT_TRUE(cri_->run_pod_config(pod_config, &pod).ok());
    for (const auto& bad :
         std::vector<std::string>{"..", ".", "a\nb", std::string(10 * 1024, 'c')}) {
        std::string id;
        expect_invalid(cri_->create(pod, ticker(bad), &id), "config.metadata.name");
    }
    EXPECT_EQ(container_count(), 0u);
    // A good name in the default layout still works, below log_dir.
    const auto id = cri_->run(pod, ticker("fine"));
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(cri_->status(id).status().log_path(),
              daemon_->dir() / "logs/default_names_names-uid/fine/0.log");
}

TEST_F(HostileInputTest, SymbolicLinkPlantedAsTheLogFileIsNotFollowed) {
    const auto pod = cri_->run_pod("planted-file");
    fs::create_symlink(precious_, log_directory("planted-file") + "/c.log");
    const auto status = create_and_run(pod, ticker("c"));
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.error_message().find("symbolic link"), std::string::npos)
        << status.error_message();
    EXPECT_EQ(read_file(precious_), "precious\n");
    // Nothing of the container is left behind.
    EXPECT_EQ(container_count(), 0u);
}

TEST_F(HostileInputTest, SymbolicLinkPlantedAsALogSubdirectoryIsNotFollowed) {
    const auto pod = cri_->run_pod("planted-dir");
    fs::create_symlink(outside_.path(), log_directory("planted-dir") + "/ctr");
    auto config = ticker("c");
    config.set_log_path("ctr/0.log");
    const auto status = create_and_run(pod, config);
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.error_message().find("symbolic link"), std::string::npos)
        << status.error_message();
    EXPECT_FALSE(fs::exists(outside_ / "0.log"));
    EXPECT_EQ(container_count(), 0u);
}

TEST_F(HostileInputTest, LogRotationDoesNotFollowALinkPlantedInPlaceOfTheLog) {
    const auto pod = cri_->run_pod("rotation");
    const auto id = cri_->run(pod, ticker("c"));
    ASSERT_FALSE(id.empty());
    const std::string log = daemon_->dir() / "logs/rotation/c.log";
    for (int i = 0; i < 100 && read_file(log).find("tick") == std::string::npos; ++i)
        std::this_thread::sleep_for(50ms);
    fs::rename(log, log + ".1");
    fs::create_symlink(precious_, log);
    const auto reopened = cri_->reopen_log(id);
    EXPECT_EQ(reopened.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << reopened.error_message();
    EXPECT_NE(reopened.error_message().find("symbolic link"), std::string::npos)
        << reopened.error_message();
    // The container goes on logging into the file it had.
    const auto before = fs::file_size(log + ".1");
    std::this_thread::sleep_for(1s);
    EXPECT_GT(fs::file_size(log + ".1"), before);
    EXPECT_EQ(read_file(precious_), "precious\n");
}

TEST_F(HostileInputTest, LongBadValuesAreEchoedShort) {
    const auto pod = cri_->run_pod("long");
    auto config = ticker("c");
    config.set_log_path("../" + std::string(10000, 'a'));
    std::string id;
    const auto status = cri_->create(pod, config, &id);
    expect_invalid(status, "config.log_path");
    EXPECT_LT(status.error_message().size(), 600u);
    EXPECT_NE(status.error_message().find("10003 bytes"), std::string::npos)
        << status.error_message();
}

TEST_F(HostileInputTest, SeccompProfileThatIsAFifoIsRefusedWithoutBlocking) {
    const auto pod = cri_->run_pod("seccomp");
    const std::string fifo = outside_ / "profile.json";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto config = ticker("c");
    auto* seccomp = config.mutable_linux()->mutable_security_context()->mutable_seccomp();
    seccomp->set_profile_type(v1::SecurityProfile::Localhost);
    seccomp->set_localhost_ref(fifo);
    v1::CreateContainerRequest request;
    request.set_pod_sandbox_id(pod);
    *request.mutable_config() = config;
    v1::CreateContainerResponse response;
    auto context = deadline_context(10s);
    const auto status = cri_->runtime().CreateContainer(context.get(), request, &response);
    expect_invalid(status, "not a regular file");
    seccomp->set_localhost_ref(outside_ / "x/../profile.json");
    std::string id;
    expect_invalid(cri_->create(pod, config, &id), "seccomp.localhost_ref");
}

TEST_F(HostileInputTest, MountAndDevicePathsWithDotDotAreRefused) {
    const auto pod = cri_->run_pod("mounts");
    const std::string made = outside_ / "made";
    auto config = ticker("c");
    auto* mount = config.add_mounts();
    // berthd creates a missing host path: this one would have been <outside>/made.
    mount->set_host_path(outside_ / "a/../made");
    mount->set_container_path("/data");
    expect_invalid(create_and_run(pod, config), "mounts[0].host_path");
    EXPECT_FALSE(fs::exists(made));
    mount->set_host_path(outside_.path());
    mount->set_container_path("/data/../../etc");
    std::string id;
    expect_invalid(cri_->create(pod, config, &id), "mounts[0].container_path");

    config.clear_mounts();
    auto* device = config.add_devices();
    device->set_host_path("/dev/null");
    device->set_container_path("/dev/../etc/null");
    expect_invalid(cri_->create(pod, config, &id), "devices[0].container_path");
    EXPECT_EQ(container_count(), 0u);
}

TEST_F(HostileInputTest, CheckpointLocationMustNotClimbOrReplaceALink) {
    const auto pod = cri_->run_pod("checkpoint");
    const auto id = cri_->run(pod, ticker("c"));
    ASSERT_FALSE(id.empty());
    expect_invalid(cri_->checkpoint(id, outside_ / "x/../checkpoint.tar"), "location");
    EXPECT_FALSE(fs::exists(outside_ / "checkpoint.tar"));

    const std::string link = outside_ / "link.tar";
    fs::create_symlink(precious_, link);
    expect_invalid(cri_->checkpoint(id, link), "symbolic link");
    EXPECT_EQ(read_file(precious_), "precious\n");
    EXPECT_TRUE(fs::is_symlink(link));

    const std::string fifo = outside_ / "fifo.tar";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    expect_invalid(cri_->checkpoint(id, fifo), "not a regular file");
    EXPECT_EQ(cri_->status(id).status().state(), v1::CONTAINER_RUNNING);
}

}  // namespace
