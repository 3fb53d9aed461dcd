// CRI mounts of an image (Mount.image and image_sub_path) through a real
// berthd and runc: the image read-only in the container, its links confined
// to it, RemoveImage refused while mounted, nothing left after removal, bad
// requests refused before anything is made.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "berthd_instance.hpp"
#include "cri_session.hpp"
#include "cri_test.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
using berth::test::BerthdInstance;
using berth::test::CriSession;
using berth::test::CriTest;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

class ImageMountTest : public CriTest {
protected:
    static void SetUpTestSuite() { start_registry({"busybox:multi", "content:links"}); }

    void SetUp() override {
        start_daemon({}, {"busybox:multi", "content:links"});
        pod_ = cri_->run_pod("images");
    }

    static std::string busybox() { return reference("busybox:multi"); }
    static std::string content() { return reference("content:links"); }

    static v1::Mount image_mount(const std::string& container_path, const std::string& image,
                                 const std::string& sub_path = "") {
        v1::Mount mount;
        mount.set_container_path(container_path);
        mount.mutable_image()->set_image(image);
        mount.set_image_sub_path(sub_path);
        return mount;
    }

    static v1::ContainerConfig sleeper(const std::string& name) {
        return CriSession::container(name, busybox(), {"sleep", "1000"});
    }

    // stdout of `command` in the container; the exit code in `code`.
    std::string exec(const std::string& id, const std::vector<std::string>& command,
                     int* code = nullptr) {
        v1::ExecSyncResponse response;
        const auto status = cri_->exec_sync(id, command, 10, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        if (code != nullptr)
            *code = response.exit_code();
        return response.stdout();
    }

    // Mount points of image mounts (the store's "<container id>.mount<n>").
    int image_mounts_on_the_host() const {
        std::ifstream mountinfo("/proc/self/mountinfo");
        const std::string below = daemon_->dir().path().string() + "/";
        int count = 0;
        for (std::string line; std::getline(mountinfo, line);) {
            if (line.find(below) != std::string::npos && line.find(".mount") != std::string::npos)
                ++count;
        }
        return count;
    }

    std::string pod_;
};

TEST_F(ImageMountTest, TheImageIsMountedReadOnlyAndItsLinksStayInside) {
    auto config = sleeper("reader");
    *config.add_mounts() = image_mount("/img", content());
    *config.add_mounts() = image_mount("/sub", content(), "content");
    // Both links lead to /etc: the image's, never the host's.
    *config.add_mounts() = image_mount("/abs", content(), "content/abs");
    *config.add_mounts() = image_mount("/up", content(), "content/up/");
    const auto id = cri_->run(pod_, config);
    ASSERT_FALSE(id.empty()) << daemon_->log();

    EXPECT_EQ(exec(id, {"cat", "/img/content/hello"}), "hello from the image\n");
    EXPECT_EQ(exec(id, {"cat", "/sub/hello"}), "hello from the image\n");
    EXPECT_EQ(exec(id, {"ls", "/abs"}), "marker\n");
    EXPECT_EQ(exec(id, {"ls", "/up"}), "marker\n");
    int code = 0;
    exec(id, {"touch", "/img/new"}, &code);
    EXPECT_NE(code, 0) << "an image mount is writable";
    exec(id, {"touch", "/sub/new"}, &code);
    EXPECT_NE(code, 0) << "an image sub path is writable";

    const auto status = cri_->status(id).status();
    ASSERT_EQ(status.mounts_size(), 4);
    EXPECT_EQ(status.mounts(0).image().image(), content());
    EXPECT_EQ(status.mounts(1).image_sub_path(), "content");
    EXPECT_EQ(image_mounts_on_the_host(), 4);

    // In use: kubelet's image garbage collection must not take it.
    const auto refused = cri_->remove_image(content());
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << refused.error_message();
    EXPECT_NE(refused.error_message().find(id), std::string::npos) << refused.error_message();

    // A restart keeps the mounts and the image's use.
    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    cri_ = std::make_unique<CriSession>(*daemon_);  // a connection to the new berthd
    EXPECT_EQ(exec(id, {"cat", "/sub/hello"}), "hello from the image\n");
    EXPECT_EQ(cri_->remove_image(content()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

    ASSERT_TRUE(cri_->stop(id).ok());
    ASSERT_TRUE(cri_->remove(id).ok());
    EXPECT_EQ(image_mounts_on_the_host(), 0);
    const auto removed = cri_->remove_image(content());
    EXPECT_TRUE(removed.ok()) << removed.error_message();
}

TEST_F(ImageMountTest, BadImageMountsAreRefusedBeforeAnythingIsMade) {
    const auto expect = [&](const v1::Mount& mount, grpc::StatusCode code,
                            const std::string& words) {
        auto config = sleeper("bad");
        *config.add_mounts() = mount;
        std::string id;
        const auto status = cri_->create(pod_, config, &id);
        EXPECT_EQ(status.error_code(), code) << words << ": " << status.error_message();
        EXPECT_NE(status.error_message().find(words), std::string::npos) << status.error_message();
    };
    expect(image_mount("/x", content(), "../etc"), grpc::StatusCode::INVALID_ARGUMENT,
           "config.mounts[0].image_sub_path");
    expect(image_mount("/x", content(), "/etc"), grpc::StatusCode::INVALID_ARGUMENT,
           "config.mounts[0].image_sub_path");
    expect(image_mount("/x", content(), "content/none"), grpc::StatusCode::INVALID_ARGUMENT,
           "is not in the image");
    expect(image_mount("/x", reference("never:pulled")), grpc::StatusCode::NOT_FOUND,
           "config.mounts[0].image");
    auto both = image_mount("/x", content());
    both.set_host_path("/tmp");
    expect(both, grpc::StatusCode::INVALID_ARGUMENT, "one or the other");
    v1::Mount sub_only;
    sub_only.set_container_path("/x");
    sub_only.set_host_path("/tmp");
    sub_only.set_image_sub_path("content");
    expect(sub_only, grpc::StatusCode::INVALID_ARGUMENT, "needs image.image");

    EXPECT_TRUE(cri_->containers().empty());
    EXPECT_EQ(image_mounts_on_the_host(), 0);
    // Nothing holds the image.
    EXPECT_TRUE(cri_->remove_image(content()).ok());
}

}  // namespace
