// Opening a CRI log beneath its log directory (conmon/src/log_file_open.cpp),
// with openat2 and with the O_NOFOLLOW fallback for kernels without it: what
// a hostile CRI client or a planted link could make root write to instead.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "berth/conmon/log_file_open.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using berth::conmon::open_log_beneath;
using berth::conmon::PathResolution;
using berth::conmon::UniqueFd;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

class LogFileOpenTest : public testing::TestWithParam<PathResolution> {
protected:
    void SetUp() override {
        fs::create_directories(logs_);
        { std::ofstream(target_) << "precious\n"; }
    }

    UniqueFd open(const std::string& path) {
        errno = 0;
        UniqueFd fd = open_log_beneath(logs_, path, error_, GetParam());
        saved_errno_ = errno;
        return fd;
    }

    // Opening `path` fails, saying `why`, and the file outside is untouched.
    void expect_refused(const std::string& path, const std::string& why) {
        const UniqueFd fd = open(path);
        EXPECT_FALSE(fd.valid()) << path;
        EXPECT_NE(error_.find(why), std::string::npos) << path << ": " << error_;
        EXPECT_EQ(read_file(target_), "precious\n");
    }

    berth::test::TempDir dir_;
    berth::test::TempDir outside_;
    const std::string logs_ = dir_ / "logs";
    const std::string target_ = outside_ / "target";
    std::string error_;
    int saved_errno_ = 0;
};

TEST_P(LogFileOpenTest, CreatesTheFileAndMissingDirectoriesBeneath) {
    const UniqueFd fd = open("pod_ns_uid/ctr/0.log");
    ASSERT_TRUE(fd.valid()) << error_;
    ASSERT_EQ(::write(fd.get(), "x\n", 2), 2);
    EXPECT_EQ(read_file(logs_ + "/pod_ns_uid/ctr/0.log"), "x\n");
    struct stat info {};
    ASSERT_EQ(::stat((logs_ + "/pod_ns_uid/ctr/0.log").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0640u);
    ASSERT_EQ(::stat((logs_ + "/pod_ns_uid").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0755u);
    // Blocking again after the open: writes never fail with EAGAIN.
    EXPECT_EQ(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST_P(LogFileOpenTest, AppendsToAnExistingLog) {
    { std::ofstream(logs_ + "/c.log") << "old\n"; }
    const UniqueFd fd = open(logs_ + "/c.log");
    ASSERT_TRUE(fd.valid()) << error_;
    ASSERT_EQ(::write(fd.get(), "new\n", 4), 4);
    EXPECT_EQ(read_file(logs_ + "/c.log"), "old\nnew\n");
}

TEST_P(LogFileOpenTest, AcceptsAnAbsolutePathBelowTheDirectory) {
    EXPECT_TRUE(open(logs_ + "/./a//b.log").valid()) << error_;
    EXPECT_TRUE(fs::is_regular_file(logs_ + "/a/b.log"));
}

TEST_P(LogFileOpenTest, RefusesAPathOutsideTheDirectory) {
    expect_refused(target_, "is not inside the log directory");
    EXPECT_EQ(saved_errno_, EXDEV);
    // A sibling whose name merely starts with the directory's.
    expect_refused(logs_ + "-other/c.log", "is not inside the log directory");
    EXPECT_FALSE(fs::exists(logs_ + "-other"));
}

TEST_P(LogFileOpenTest, RefusesDotDot) {
    const std::string climbing = "a/../../" + fs::relative(target_, logs_).string();
    expect_refused(climbing, "climbs out");
    expect_refused(logs_ + "/../logs/c.log", "climbs out");
    EXPECT_FALSE(fs::exists(logs_ + "/a"));
}

TEST_P(LogFileOpenTest, RefusesAPathThatNamesNoFile) {
    expect_refused("", "does not name a file");
    expect_refused("a/", "does not name a file");
    expect_refused("a/.", "does not name a file");
}

TEST_P(LogFileOpenTest, RefusesASymbolicLinkAsTheFile) {
    fs::create_symlink(target_, logs_ + "/c.log");
    expect_refused("c.log", "symbolic link");
    EXPECT_EQ(saved_errno_, ELOOP);
}

TEST_P(LogFileOpenTest, RefusesADanglingSymbolicLinkAndCreatesNothingThere) {
    const std::string missing = outside_ / "created-through-link";
    fs::create_symlink(missing, logs_ + "/c.log");
    expect_refused("c.log", "symbolic link");
    EXPECT_FALSE(fs::exists(missing));
}

TEST_P(LogFileOpenTest, RefusesASymbolicLinkAsADirectoryOnTheWay) {
    fs::create_directories(outside_ / "dir");
    fs::create_symlink(outside_.path() / "dir", logs_ + "/ctr");
    expect_refused("ctr/0.log", "symbolic link");
    EXPECT_FALSE(fs::exists(outside_ / "dir/0.log"));
    // Deeper down, and where a missing directory would be created.
    fs::create_directories(logs_ + "/pod");
    fs::create_symlink(outside_.path(), logs_ + "/pod/ctr");
    expect_refused("pod/ctr/sub/0.log", "symbolic link");
    EXPECT_FALSE(fs::exists(outside_ / "sub"));
}

TEST_P(LogFileOpenTest, RefusesAFifoWithoutBlocking) {
    ASSERT_EQ(::mkfifo((logs_ + "/c.log").c_str(), 0600), 0);
    const auto started = std::chrono::steady_clock::now();
    expect_refused("c.log", "not a regular file");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST_P(LogFileOpenTest, RefusesADirectoryAndADevice) {
    fs::create_directories(logs_ + "/c.log");
    expect_refused("c.log", "not a regular file");
    ASSERT_EQ(::mknod((logs_ + "/null").c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);
    expect_refused("null", "not a regular file");
}

TEST_P(LogFileOpenTest, RefusesAFileWithAnotherHardLink) {
    // Same filesystem as the log directory: the temporary directories are.
    const std::string outside_name = dir_ / "outside-name";
    { std::ofstream(outside_name) << "precious\n"; }
    fs::create_hard_link(outside_name, logs_ + "/c.log");
    const UniqueFd fd = open("c.log");
    EXPECT_FALSE(fd.valid());
    EXPECT_NE(error_.find("hard link"), std::string::npos) << error_;
    EXPECT_EQ(read_file(outside_name), "precious\n");
}

TEST_P(LogFileOpenTest, RefusesAFileInPlaceOfADirectory) {
    { std::ofstream(logs_ + "/ctr") << ""; }
    expect_refused("ctr/0.log", "not a directory");
}

TEST_P(LogFileOpenTest, FailsWhenTheLogDirectoryIsMissing) {
    const UniqueFd fd = open_log_beneath(dir_ / "missing", "c.log", error_, GetParam());
    EXPECT_FALSE(fd.valid());
    EXPECT_EQ(errno, ENOENT);
    EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

INSTANTIATE_TEST_SUITE_P(Resolutions, LogFileOpenTest,
                         testing::Values(PathResolution::kAutomatic, PathResolution::kNoFollow),
                         [](const testing::TestParamInfo<PathResolution>& param_info) {
                             return param_info.param == PathResolution::kAutomatic ? "Openat2"
                                                                                   : "NoFollow";
                         });

}  // namespace
