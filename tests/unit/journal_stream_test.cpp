// JOURNAL_STREAM matching (daemon/journal_stream.*): berthd logs natively to
// the journal only when its stderr really is the stream systemd named.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "journal_stream.hpp"
#include "temp_dir.hpp"

namespace {

using berth::daemon::is_journal_stream;

class JournalStream : public ::testing::Test {
protected:
    void SetUp() override {
        fd_ = open((dir_.path() / "stream").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        ASSERT_GE(fd_, 0);
        struct stat status {};
        ASSERT_EQ(fstat(fd_, &status), 0);
        device_ = static_cast<unsigned long long>(status.st_dev);
        inode_ = static_cast<unsigned long long>(status.st_ino);
    }
    void TearDown() override {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    std::string value(unsigned long long device, unsigned long long inode) const {
        return std::to_string(device) + ":" + std::to_string(inode);
    }

    berth::test::TempDir dir_;
    int fd_ = -1;
    unsigned long long device_ = 0;
    unsigned long long inode_ = 0;
};

TEST_F(JournalStream, MatchesTheStreamItNames) {
    EXPECT_TRUE(is_journal_stream(fd_, value(device_, inode_).c_str()));
}

TEST_F(JournalStream, AnotherFileIsNotTheJournal) {
    EXPECT_FALSE(is_journal_stream(fd_, value(device_, inode_ + 1).c_str()));
    EXPECT_FALSE(is_journal_stream(fd_, value(device_ + 1, inode_).c_str()));
}

TEST_F(JournalStream, UnsetIsNotTheJournal) {
    EXPECT_FALSE(is_journal_stream(fd_, nullptr));
}

TEST_F(JournalStream, MalformedValuesAreNotTheJournal) {
    const std::string good = value(device_, inode_);
    const std::vector<std::string> values{std::string(),
                                          std::string(":"),
                                          std::to_string(device_),
                                          std::to_string(device_) + ":",
                                          ":" + std::to_string(inode_),
                                          good + "x",
                                          " " + good,
                                          good + ":1",
                                          "a:b",
                                          "-" + good,
                                          std::to_string(device_) + ":-" + std::to_string(inode_),
                                          "99999999999999999999999999:1"};
    for (const std::string& bad : values) {
        EXPECT_FALSE(is_journal_stream(fd_, bad.c_str())) << "JOURNAL_STREAM=\"" << bad << "\"";
    }
}

TEST_F(JournalStream, ClosedDescriptorIsNotTheJournal) {
    const std::string good = value(device_, inode_);
    close(fd_);
    const int closed = fd_;
    fd_ = -1;
    EXPECT_FALSE(is_journal_stream(closed, good.c_str()));
}

}  // namespace
