// Container root filesystems from the image store (storage::ImageStorage used
// directly, with the real berth-unpack, a real registry and real overlayfs):
// the layers stack with their whiteouts, writes land in the container's own
// layer, images in use cannot be removed, and a restart finds everything.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "berth/config/config.hpp"
#include "berth/storage/image_storage.hpp"
#include "berth/storage/storage_error.hpp"
#include "mount_cleanup.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

namespace fs = std::filesystem;
using berth::storage::ErrorKind;
using berth::storage::ImageStorage;
using berth::storage::StorageError;
using berth::test::read_file;
using berth::test::TempDir;
using berth::test::TestRegistry;

namespace {

class RootfsTest : public testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(registry_.start()) << registry_.log();
        registry_.push("busybox:multi");
        config_.root = dir_ / "root";
        open_store();
        store_->pull(name(), {}, config_.image);
    }
    void TearDown() override {
        store_.reset();
        berth::test::unmount_all_below(dir_.path().string());
    }
    void open_store() {
        store_ = std::make_unique<ImageStorage>(config_, BERTH_UNPACK_PATH);
        store_->open();
    }
    std::string name() const { return registry_.host() + "/busybox:multi"; }

    TempDir dir_;
    TestRegistry registry_;
    berth::config::Config config_;
    std::unique_ptr<ImageStorage> store_;
};

bool is_mounted(const fs::path& path) {
    return read_file("/proc/self/mountinfo").find(" " + path.string() + " ") != std::string::npos;
}

TEST_F(RootfsTest, LayersStackWithWhiteoutsAndWritesStayInTheContainer) {
    const auto rootfs = store_->create_rootfs("c1", name(), false, config_.image);
    const fs::path root = rootfs.mount_point;
    ASSERT_TRUE(is_mounted(root));
    EXPECT_TRUE(fs::exists(root / "bin/busybox"));
    EXPECT_TRUE(fs::exists(root / "data/b"));
    EXPECT_FALSE(fs::exists(root / "data/a"));      // whited out by layer 3
    EXPECT_FALSE(fs::exists(root / "opaque/old"));  // hidden by the opaque directory
    EXPECT_TRUE(fs::exists(root / "opaque/new"));
    EXPECT_NE(read_file(root / "etc/passwd").find("app:x:1000"), std::string::npos);

    std::ofstream(root / "written") << "mine";
    EXPECT_EQ(read_file(rootfs.upper / "written"), "mine");
    fs::remove(root / "data/b");
    // The image's layer is untouched; the container's layer holds a whiteout.
    EXPECT_EQ(store_->container_usage().at("c1").inodes > 0, true);

    // A second container from the same image sees none of it.
    const auto other = store_->create_rootfs("c2", name(), false, config_.image);
    EXPECT_FALSE(fs::exists(other.mount_point / "written"));
    EXPECT_TRUE(fs::exists(other.mount_point / "data/b"));

    // Creating again is idempotent.
    EXPECT_EQ(store_->create_rootfs("c1", name(), false, config_.image).mount_point, root);

    store_->release_rootfs("c1");
    store_->release_rootfs("c2");
    EXPECT_FALSE(is_mounted(root));
    EXPECT_FALSE(fs::exists(root.parent_path()));
    store_->release_rootfs("c1");  // idempotent
}

TEST_F(RootfsTest, ReadOnlyRootfsRefusesWrites) {
    const auto rootfs = store_->create_rootfs("ro", name(), true, config_.image);
    const int fd = ::open((rootfs.mount_point / "nope").c_str(), O_WRONLY | O_CREAT, 0600);
    EXPECT_EQ(fd, -1);
    EXPECT_EQ(errno, EROFS);
    if (fd >= 0)
        ::close(fd);
    store_->release_rootfs("ro");
}

TEST_F(RootfsTest, AnImageInUseIsNotRemovedAndItsLayersAreKept) {
    store_->create_rootfs("user", name(), false, config_.image);
    try {
        store_->remove(name(), config_.image);
        FAIL() << "removed an image in use";
    } catch (const StorageError& error) {
        EXPECT_EQ(error.kind(), ErrorKind::FailedPrecondition);
        EXPECT_NE(std::string(error.what()).find("in use by container user"), std::string::npos);
    }
    EXPECT_EQ(store_->collect_garbage().layers_removed, 0u);
    store_->release_rootfs("user");
    store_->remove(name(), config_.image);
    EXPECT_TRUE(store_->list().empty());
    EXPECT_TRUE(fs::is_empty(dir_ / "root/storage/layers"));
}

TEST_F(RootfsTest, RestartFindsMountedRootfsAndRemountsAfterReboot) {
    const auto rootfs = store_->create_rootfs("keep", name(), false, config_.image);
    std::ofstream(rootfs.mount_point / "state") << "kept";
    open_store();  // as berthd does after a restart
    ASSERT_TRUE(store_->rootfs("keep").has_value());
    EXPECT_EQ(read_file(rootfs.mount_point / "state"), "kept");

    // After a reboot the mount is gone; the writable layer is not.
    ASSERT_EQ(::umount2(rootfs.mount_point.c_str(), 0), 0);
    open_store();
    store_->ensure_mounted("keep");
    EXPECT_EQ(read_file(rootfs.mount_point / "state"), "kept");
    store_->release_rootfs("keep");
}

TEST_F(RootfsTest, BadContainerIdsAndUnknownImagesAreRefused) {
    for (const char* bad : {"", "..", "a/b", "../x"}) {
        try {
            store_->create_rootfs(bad, name(), false, config_.image);
            FAIL() << "accepted \"" << bad << "\"";
        } catch (const StorageError& error) {
            EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument) << bad;
        }
    }
    try {
        store_->create_rootfs("c", registry_.host() + "/missing:1", false, config_.image);
        FAIL() << "no error for a missing image";
    } catch (const StorageError& error) {
        EXPECT_EQ(error.kind(), ErrorKind::NotFound);
    }
    EXPECT_TRUE(fs::is_empty(dir_ / "root/storage/containers"));
}

}  // namespace
