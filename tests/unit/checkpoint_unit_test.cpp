// CheckpointContainer below the RPC, where no CRIU is needed: the tar
// writers, and the whole archive with a fake runtime standing in for
// `runc checkpoint` (the integration test meets the real one).
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "berth/oci/runtime_error.hpp"
#include "container/checkpoint.hpp"
#include "container/checkpoint_archive.hpp"
#include "status_error.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using berth::test::TempDir;
using namespace berth::daemon::container;

namespace {

struct TarEntry {
    mode_t type = 0;
    mode_t permissions = 0;
    std::string content;  // the link target for a symbolic link
};

// Every entry of a tar file, by name.
std::map<std::string, TarEntry> read_tar(const std::string& file) {
    std::map<std::string, TarEntry> entries;
    archive* reader = archive_read_new();
    archive_read_support_format_tar(reader);
    if (archive_read_open_filename(reader, file.c_str(), 1 << 16) != ARCHIVE_OK) {
        ADD_FAILURE() << "cannot read " << file << ": " << archive_error_string(reader);
        archive_read_free(reader);
        return entries;
    }
    archive_entry* entry = nullptr;
    while (archive_read_next_header(reader, &entry) == ARCHIVE_OK) {
        TarEntry& out = entries[archive_entry_pathname(entry)];
        out.type = archive_entry_filetype(entry);
        out.permissions = archive_entry_perm(entry);
        if (out.type == AE_IFLNK) {
            out.content = archive_entry_symlink(entry);
            continue;
        }
        char buffer[4096];
        la_ssize_t got = 0;
        while ((got = archive_read_data(reader, buffer, sizeof(buffer))) > 0)
            out.content.append(buffer, static_cast<std::size_t>(got));
    }
    archive_read_free(reader);
    return entries;
}

std::string read_file(const fs::path& file) {
    std::ifstream in(file);
    return {std::istreambuf_iterator<char>(in), {}};
}

TEST(CheckpointArchive, HoldsTheWholeTreeAndIsReadableByItsOwnerOnly) {
    TempDir dir;
    dir.write("tree/checkpoint/pages-1.img", std::string(200000, 'p'));
    dir.write("tree/config.dump", "{}");
    fs::create_directories(dir / "tree/empty");
    fs::create_symlink("config.dump", dir / "tree/link");
    ASSERT_EQ(::mkfifo((dir / "tree/fifo").c_str(), 0600), 0);
    write_directory_archive(dir / "tree", dir / "out.tar");

    struct stat info {};
    ASSERT_EQ(::stat((dir / "out.tar").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    const auto entries = read_tar(dir / "out.tar");
    ASSERT_EQ(entries.count("checkpoint/pages-1.img"), 1u);
    EXPECT_EQ(entries.at("checkpoint/pages-1.img").content, std::string(200000, 'p'));
    // Directories end in "/", as tar writes them.
    EXPECT_EQ(entries.at("checkpoint/").type, static_cast<mode_t>(AE_IFDIR));
    EXPECT_EQ(entries.at("config.dump").content, "{}");
    EXPECT_EQ(entries.at("empty/").type, static_cast<mode_t>(AE_IFDIR));
    EXPECT_EQ(entries.at("link").type, static_cast<mode_t>(AE_IFLNK));
    EXPECT_EQ(entries.at("link").content, "config.dump");
    EXPECT_EQ(entries.count("fifo"), 0u);
    EXPECT_EQ(entries.size(), 5u);
    // Nothing but the archive is left beside it.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path()))
        ++files;
    EXPECT_EQ(files, 2u);  // tree/ and out.tar
}

TEST(CheckpointArchive, AnArchiveThatCannotBeWrittenLeavesNothing) {
    TempDir dir;
    dir.write("tree/a", "a");
    EXPECT_THROW(write_directory_archive(dir / "tree", dir / "missing/out.tar"),
                 std::runtime_error);
    EXPECT_FALSE(fs::exists(dir / "missing"));
}

// The archive is written beside its location first: under a name nobody can
// plant a link at beforehand (it was "<location>.tmp-<pid>", which berthd
// truncated and wrote through whatever link was there).
TEST(CheckpointArchive, NeverWritesThroughALinkPlantedBesideTheLocation) {
    TempDir dir;
    TempDir outside;
    const std::string precious = outside.write("precious", "precious\n");
    dir.write("tree/a", "a");
    fs::create_directories(dir / "out");
    fs::create_symlink(precious, dir / ("out/c.tar.tmp-" + std::to_string(::getpid())));
    write_directory_archive(dir / "tree", dir / "out/c.tar");
    EXPECT_EQ(read_file(precious), "precious\n");
    EXPECT_EQ(read_tar(dir / "out/c.tar").at("a").content, "a");
}

TEST(CheckpointArchive, TheRootfsDiffHoldsChangesAndListsDeletions) {
    TempDir dir;
    dir.write("upper/etc/motd", "changed");
    dir.write("upper/etc/hosts", "bind-mounted: left out");
    dir.write("upper/dev/null-ish", "left out with /dev");
    dir.write("upper/data/new.txt", "new");
    // overlayfs marks a deleted file with a 0:0 character device.
    ASSERT_EQ(::mknod((dir / "upper/etc/removed.conf").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0);
    const auto deleted = write_rootfs_diff(dir / "upper", {"/etc/hosts", "/dev"},
                                           dir / "rootfs-diff.tar", dir / "deleted.files");
    EXPECT_EQ(deleted, 1u);
    const auto entries = read_tar(dir / "rootfs-diff.tar");
    EXPECT_EQ(entries.at("etc/motd").content, "changed");
    EXPECT_EQ(entries.at("data/new.txt").content, "new");
    EXPECT_EQ(entries.count("etc/hosts"), 0u);
    EXPECT_EQ(entries.count("dev"), 0u);
    EXPECT_EQ(entries.count("dev/null-ish"), 0u);
    EXPECT_EQ(entries.count("etc/removed.conf"), 0u);
    EXPECT_EQ(nlohmann::json::parse(read_file(dir / "deleted.files")),
              nlohmann::json::array({"/etc/removed.conf"}));

    // Nothing deleted: no deleted.files at all, as CRI-O writes it.
    dir.write("clean/a", "a");
    EXPECT_EQ(write_rootfs_diff(dir / "clean", {}, dir / "clean.tar", dir / "clean.deleted"), 0u);
    EXPECT_FALSE(fs::exists(dir / "clean.deleted"));
}

// `runc checkpoint` as the tests want it: it records the calls, writes what
// CRIU would write, or fails as CRIU does on a host it cannot work on.
class FakeRuntime final : public berth::oci::RuntimeImpl {
public:
    std::vector<std::string> calls;
    bool fail_dump = false;

    void pause(const std::string& id) override { calls.push_back("pause " + id); }
    void unpause(const std::string& id) override { calls.push_back("unpause " + id); }
    void checkpoint(const std::string& id, const std::string& image_dir, bool leave_running,
                    std::chrono::seconds) override {
        calls.push_back("checkpoint " + id + (leave_running ? " leave-running" : ""));
        if (fail_dump) {
            throw berth::oci::RuntimeError(berth::oci::RuntimeErrorKind::FailedPrecondition,
                                           "CRIU cannot checkpoint containers on this host");
        }
        fs::create_directories(image_dir);
        std::ofstream(fs::path(image_dir) / "pages-1.img") << "memory";
        std::ofstream(fs::path(image_dir) / "stats-dump") << "stats";
        std::ofstream(fs::path(image_dir).parent_path() / "dump.log") << "dump done";
    }

    int create(const berth::oci::CreateOptions&) override { return 0; }
    void start(const std::string&) override {}
    void stop(const std::string&, int, std::chrono::seconds) override {}
    void signal(const std::string&, int) override {}
    void remove(const std::string&) override {}
    berth::oci::ContainerState state(const std::string&) override { return {}; }
    void update_resources(const std::string&, const nlohmann::json&) override {}
    void reopen_log(const std::string&) override {}
    bool monitor_alive(const std::string&) override { return true; }
    std::string reattach(const std::string&) override { return ""; }
    bool runs_sandbox_task() const override { return false; }
    int start_sandbox(const berth::oci::SandboxOptions&) override { return 0; }
    void stop_sandbox(const std::string&) override {}
    void remove_sandbox(const std::string&) override {}
    bool sandbox_alive(const std::string&) override { return true; }
    berth::oci::MonitorPaths monitor_paths(const std::string&) const override { return {}; }
    berth::oci::HandlerFeatures features() override { return {}; }
    berth::oci::ExecSyncResult exec_sync(const std::string&, const std::vector<std::string>&,
                                         std::chrono::seconds) override {
        return {};
    }
    std::unique_ptr<berth::oci::ProcessIo> exec(const std::string&,
                                                const berth::oci::ExecOptions&) override {
        return nullptr;
    }
    std::unique_ptr<berth::oci::ProcessIo> attach(const std::string&,
                                                  const berth::oci::AttachOptions&) override {
        return nullptr;
    }
};

class CheckpointContainerUnit : public testing::Test {
protected:
    void SetUp() override {
        record_.id = std::string(64, 'c');
        record_.name = "k8s_app_pod_default_uid_0";
        record_.runtime_handler = "runc";
        record_.image_id = "sha256:" + std::string(64, 'f');
        record_.config.mutable_image()->set_image("registry.local/busybox:1");
        record_.created_at = 1700000000123456789;
        record_.state = ContainerState::Running;
        record_.bundle = dir_ / "bundle";
        const std::string hosts = dir_.write("pod/hosts", "127.0.0.1 localhost\n");
        const nlohmann::json spec = {
            {"ociVersion", "1.0.2"},
            {"mounts",
             {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
              {{"destination", "/etc/hosts"},
               {"type", "bind"},
               {"source", hosts},
               {"options", {"rbind", "ro"}}}}},
        };
        spec_ = spec.dump(2);
        dir_.write("bundle/config.json", spec_);
        dir_.write("upper/etc/hosts", "");
        dir_.write("upper/tmp/state", "written by the app");
        inputs_.record = &record_;
        inputs_.runtime = &runtime_;
        inputs_.archive = dir_ / "out/checkpoint.tar";
        inputs_.upper_dir = dir_ / "upper";
        fs::create_directories(dir_ / "out");
    }

    std::size_t leftovers_in_bundle() const {
        std::size_t count = 0;
        for (const auto& entry : fs::directory_iterator(dir_ / "bundle"))
            count += entry.path().filename() != "config.json";
        return count;
    }

    TempDir dir_;
    Container record_;
    FakeRuntime runtime_;
    CheckpointInputs inputs_;
    std::string spec_;
};

TEST_F(CheckpointContainerUnit, WritesCriOsLayoutWhileTheContainerIsPaused) {
    checkpoint_container(inputs_);
    const std::string id = record_.id;
    EXPECT_EQ(runtime_.calls,
              (std::vector<std::string>{"pause " + id, "checkpoint " + id + " leave-running",
                                        "unpause " + id}));
    const auto entries = read_tar(inputs_.archive);
    EXPECT_EQ(entries.at("checkpoint/pages-1.img").content, "memory");
    EXPECT_EQ(entries.at("checkpoint/stats-dump").content, "stats");
    EXPECT_EQ(entries.at("dump.log").content, "dump done");
    EXPECT_EQ(entries.at("spec.dump").content, spec_);

    const auto config = nlohmann::json::parse(entries.at("config.dump").content);
    EXPECT_EQ(config.at("id"), id);
    EXPECT_EQ(config.at("name"), "k8s_app_pod_default_uid_0");
    EXPECT_EQ(config.at("rootfsImageName"), "registry.local/busybox:1");
    EXPECT_EQ(config.at("rootfsImageRef"), std::string(64, 'f'));
    EXPECT_EQ(config.at("runtime"), "runc");
    EXPECT_EQ(config.at("createdTime"), "2023-11-14T22:13:20.123456789Z");
    EXPECT_EQ(config.at("restored"), false);

    const auto mounts = nlohmann::json::parse(entries.at("bind.mounts").content);
    ASSERT_EQ(mounts.size(), 1u);
    EXPECT_EQ(mounts[0].at("destination"), "/etc/hosts");
    EXPECT_EQ(mounts[0].at("file_type"), "file");

    const std::string diff = (dir_ / "diff.tar");
    std::ofstream(diff) << entries.at("rootfs-diff.tar").content;
    const auto changed = read_tar(diff);
    EXPECT_EQ(changed.at("tmp/state").content, "written by the app");
    EXPECT_EQ(changed.count("etc/hosts"), 0u);  // a bind mount's target, not the app's
    EXPECT_EQ(entries.count("deleted.files"), 0u);
    EXPECT_EQ(leftovers_in_bundle(), 0u);
}

TEST_F(CheckpointContainerUnit, AFailedDumpResumesTheContainerAndLeavesNoArchive) {
    runtime_.fail_dump = true;
    try {
        checkpoint_container(inputs_);
        ADD_FAILURE() << "the failed dump was not reported";
    } catch (const berth::oci::RuntimeError& error) {
        EXPECT_EQ(error.kind(), berth::oci::RuntimeErrorKind::FailedPrecondition);
    }
    ASSERT_EQ(runtime_.calls.size(), 3u);
    EXPECT_EQ(runtime_.calls.back(), "unpause " + record_.id);
    EXPECT_FALSE(fs::exists(inputs_.archive));
    EXPECT_EQ(leftovers_in_bundle(), 0u);
}

TEST_F(CheckpointContainerUnit, AnArchivePathThatCannotBeIsAnInvalidArgument) {
    // A link is not replaced (nor followed), nor is anything but a file.
    const std::string precious = dir_.write("precious", "precious\n");
    fs::create_symlink(precious, dir_ / "out/link.tar");
    fs::create_symlink(dir_ / "out", dir_ / "out/dir-link.tar");
    ASSERT_EQ(::mkfifo((dir_ / "out/fifo.tar").c_str(), 0600), 0);
    for (const std::string& location :
         {dir_ / "nowhere/checkpoint.tar", dir_ / "out", dir_ / "out/link.tar",
          dir_ / "out/dir-link.tar", dir_ / "out/fifo.tar"}) {
        inputs_.archive = location;
        try {
            checkpoint_container(inputs_);
            ADD_FAILURE() << location << " was accepted";
        } catch (const berth::daemon::StatusError& error) {
            EXPECT_EQ(error.code(), grpc::StatusCode::INVALID_ARGUMENT) << error.what();
        }
    }
    EXPECT_TRUE(runtime_.calls.empty());  // never paused
    EXPECT_EQ(read_file(precious), "precious\n");
    EXPECT_TRUE(fs::is_symlink(dir_ / "out/link.tar"));
}

}  // namespace
