// CDI devices on a real berthd with real runc: a spec of the test's own in a
// spec directory of the test's own exposes the host's /dev/null under a new
// name, sets a variable and mounts a directory; the container sees all
// three. A device no spec defines is INVALID_ARGUMENT and leaves nothing
// behind; a broken spec file beside a good one is skipped, not fatal.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "berthd_instance.hpp"
#include "child_process.hpp"
#include "cri_session.hpp"
#include "cri_test.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
using berth::test::BerthdInstance;
using berth::test::BerthdOptions;
using berth::test::CriSession;
using berth::test::CriTest;
using berth::test::read_file;
using berth::test::TempDir;
using berth::test::TestRegistry;

namespace {

class CdiDevicesTest : public CriTest {
protected:
    static void SetUpTestSuite() { start_registry({"busybox:multi"}); }

    void SetUp() override {
        specs_.write("shared/marker", "marked\n");
        specs_.write("cdi/berth-test.yaml", R"(cdiVersion: "0.6.0"
kind: berth.test/cdi
containerEdits:
  env: [BERTH_CDI_SPEC=applied]
devices:
- name: "null"
  containerEdits:
    env: [BERTH_CDI=yes]
    deviceNodes:
    - path: /dev/berth-cdi-null
      hostPath: /dev/null
    mounts:
    - hostPath: )" + (specs_ / "shared") + R"(
      containerPath: /mnt/cdi
      options: [rbind, ro]
)");
        // Sorts first, so that a reader that stopped at it would miss the good one.
        specs_.write("cdi/a-broken.yaml", "cdiVersion: [0.6.0\nkind: berth.test/broken\n");
        BerthdOptions options;
        options.extra_config = "[berth.runtime]\ncdi_spec_dirs = [\"" + (specs_ / "cdi") + "\"]\n";
        daemon_ = std::make_unique<BerthdInstance>(options);
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
        cri_ = std::make_unique<CriSession>(*daemon_);
        cri_->pull(image());
        pod_ = cri_->run_pod("cdi-pod");
    }

    static std::string image() { return registry_->host() + "/busybox:multi"; }

    static v1::ContainerConfig sleeper(const std::string& name, const std::string& device) {
        auto config = CriSession::container(name, image(), {"sleep", "600"});
        if (!device.empty())
            config.add_cdi_devices()->set_name(device);
        return config;
    }

    // Mounts below the daemon's directory (container root filesystems).
    std::size_t daemon_mounts() const {
        const std::string mountinfo = read_file("/proc/self/mountinfo");
        const std::string dir = daemon_->dir().path().string();
        std::size_t count = 0;
        for (auto at = mountinfo.find(dir); at != std::string::npos;
             at = mountinfo.find(dir, at + 1))
            ++count;
        return count;
    }

    TempDir specs_;
    std::string pod_;
};

TEST_F(CdiDevicesTest, DeviceVariableAndMountReachTheContainer) {
    const std::string id = cri_->run(pod_, sleeper("with-device", "berth.test/cdi=null"));
    ASSERT_FALSE(id.empty());
    v1::ExecSyncResponse response;
    const auto status = cri_->exec_sync(
        id,
        {"sh", "-c",
         "test -c /dev/berth-cdi-null && echo written > /dev/berth-cdi-null && echo device; "
         "echo $BERTH_CDI $BERTH_CDI_SPEC; cat /mnt/cdi/marker"},
        20, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.stdout(), "device\nyes applied\nmarked\n") << response.stderr();
    EXPECT_EQ(response.exit_code(), 0);

    // Without the device, none of it.
    const std::string plain = cri_->run(pod_, sleeper("without-device", ""));
    ASSERT_FALSE(plain.empty());
    response.Clear();
    ASSERT_TRUE(cri_->exec_sync(plain,
                                {"sh", "-c",
                                 "test -e /dev/berth-cdi-null || echo no-device; "
                                 "echo \"[$BERTH_CDI]\"; test -e /mnt/cdi || echo no-mount"},
                                20, &response)
                    .ok());
    EXPECT_EQ(response.stdout(), "no-device\n[]\nno-mount\n");

    // The broken file was reported, once however often specs are read.
    cri_->run(pod_, sleeper("again", "berth.test/cdi=null"));
    const std::string log = daemon_->log();
    const std::string warning = "CDI spec " + (specs_ / "cdi/a-broken.yaml") + " skipped";
    const auto first = log.find(warning);
    EXPECT_NE(first, std::string::npos) << log;
    EXPECT_EQ(log.find(warning, first + 1), std::string::npos) << log;
}

TEST_F(CdiDevicesTest, UnknownDeviceIsInvalidArgumentAndLeavesNothing) {
    const std::size_t mounts_before = daemon_mounts();
    std::string id;
    auto status = cri_->create(pod_, sleeper("unknown", "berth.test/cdi=missing"), &id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(),
              "CreateContainer: CDI_devices[0].name \"berth.test/cdi=missing\": no CDI "
              "spec in " +
                  (specs_ / "cdi") + " defines this device");
    status = cri_->create(pod_, sleeper("unknown", "null"), &id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("CDI_devices[0].name \"null\" is not a fully qualified"),
              std::string::npos)
        << status.error_message();
    auto legacy = sleeper("unknown", "");
    (*legacy.mutable_annotations())["cdi.k8s.io/test"] = "berth.test/cdi=missing";
    status = cri_->create(pod_, legacy, &id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("annotations[\"cdi.k8s.io/test\"]"), std::string::npos)
        << status.error_message();

    EXPECT_TRUE(cri_->containers().empty());
    EXPECT_EQ(daemon_mounts(), mounts_before);
    // The name was given back: the same container with a known device works.
    EXPECT_FALSE(cri_->run(pod_, sleeper("unknown", "berth.test/cdi=null")).empty());
}

}  // namespace
