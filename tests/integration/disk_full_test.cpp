// berthd with its root on a full filesystem (a small tmpfs of the test's own):
// pulls and imports answer RESOURCE_EXHAUSTED with the kernel's words ("No
// space left on device"), never INTERNAL or a complaint about the image, and
// leave the store usable once there is room again.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <filesystem>
#include <fstream>

#include "berth/images.grpc.pb.h"
#include "berthd_instance.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::deadline_context;
using berth::test::run_command;
using berth::test::TempDir;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

class DiskFullTest : public testing::Test {
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
        // berthd's root is a 16 MiB tmpfs; BerthdInstance's destructor
        // unmounts everything below its directory, this one included.
        root_ = daemon_.dir() / "root";
        fs::create_directories(root_);
        ASSERT_EQ(::mount("tmpfs", root_.c_str(), "tmpfs", 0, "size=16m"), 0)
            << std::strerror(errno);
        ASSERT_TRUE(daemon_.start()) << daemon_.log();
    }

    // Fills the root but for `left` bytes.
    void fill(std::uintmax_t left) {
        struct statvfs info {};
        ASSERT_EQ(::statvfs(root_.c_str(), &info), 0);
        const std::uintmax_t free_bytes = static_cast<std::uintmax_t>(info.f_bavail) * info.f_frsize;
        ASSERT_GT(free_bytes, left);
        const auto filled = run_command("fallocate -l " + std::to_string(free_bytes - left) + " " +
                                        filler());
        ASSERT_EQ(filled.exit_code, 0) << filled.output;
    }
    std::string filler() const { return root_ + "/filler"; }

    grpc::Status pull(const std::string& image) {
        v1::PullImageRequest request;
        request.mutable_image()->set_image(image);
        v1::PullImageResponse response;
        auto context = deadline_context(60s);
        return daemon_.image()->PullImage(context.get(), request, &response);
    }

    grpc::Status import(const std::string& path) {
        auto images = berth::v1::Images::NewStub(daemon_.channel());
        berth::v1::ImportImageRequest request;
        request.set_path(path);
        berth::v1::ImportImageResponse response;
        auto context = deadline_context(60s);
        return images->ImportImage(context.get(), request, &response);
    }

    static void expect_disk_full(const grpc::Status& status, const std::string& what) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
            << what << ": " << status.error_message();
        EXPECT_NE(status.error_message().find("No space left on device"), std::string::npos)
            << what << ": " << status.error_message();
    }

    static TestRegistry* registry_;
    BerthdInstance daemon_;
    std::string root_;
};

TestRegistry* DiskFullTest::registry_ = nullptr;

TEST_F(DiskFullTest, PullsAndImportsSaySo) {
    const std::string layout = TestRegistry::layout_directory("busybox:multi");
    TempDir work;
    ASSERT_EQ(run_command("tar -C " + layout + " -cf " + (work / "oci.tar") + " .").exit_code, 0);

    fill(64 * 1024);
    expect_disk_full(pull(registry_->host() + "/busybox:multi"), "pull");
    expect_disk_full(import(layout), "import of a layout directory");
    expect_disk_full(import(work / "oci.tar"), "import of an OCI archive");

    // Nothing half-written is taken for an image, and with room again the
    // same requests work.
    v1::ListImagesResponse listed;
    auto context = deadline_context();
    ASSERT_TRUE(daemon_.image()->ListImages(context.get(), {}, &listed).ok());
    EXPECT_EQ(listed.images_size(), 0);
    fs::remove(filler());
    const auto pulled = pull(registry_->host() + "/busybox:multi");
    EXPECT_TRUE(pulled.ok()) << pulled.error_message();
    const auto imported = import(work / "oci.tar");
    EXPECT_TRUE(imported.ok()) << imported.error_message();
}

}  // namespace
