// berth-conmon's container log: the exact CRI records kubelet parses
// ("<RFC3339Nano UTC> <stdout|stderr> <F|P> <text>\n"), split and joined the
// way kubelet joins them, and the size limit and rotation that keep it bounded.
#include <gtest/gtest.h>
#include <time.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "berth/conmon/cri_log.hpp"
#include "temp_dir.hpp"

namespace conmon = berth::conmon;
using conmon::CriLog;
using conmon::Stream;

namespace {

// berth-conmon's monitor reads the container's pipes 8 KiB at a time
// (kReadBuffer in conmon/src/monitor.cpp); CriLog gets one call per read.
constexpr std::size_t kReadBuffer = 8192;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

struct Record {
    std::string timestamp;
    std::string rest;  // "<stream> <tag> <text>", without the newline
};

// Splits the log into records, checking every record ends in a newline and
// starts with a well-formed timestamp followed by one space.
std::vector<Record> records_of(const std::string& content) {
    static const std::regex kTimestamp(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$)");
    std::vector<Record> records;
    std::string_view rest = content;
    while (!rest.empty()) {
        const auto newline = rest.find('\n');
        EXPECT_NE(newline, std::string_view::npos) << "unterminated record: " << rest;
        if (newline == std::string_view::npos) {
            break;
        }
        const std::string_view line = rest.substr(0, newline);
        rest.remove_prefix(newline + 1);
        const auto space = line.find(' ');
        EXPECT_NE(space, std::string_view::npos) << "no timestamp: " << line;
        if (space == std::string_view::npos) {
            continue;
        }
        Record record{std::string(line.substr(0, space)), std::string(line.substr(space + 1))};
        EXPECT_TRUE(std::regex_match(record.timestamp, kTimestamp))
            << "bad timestamp: " << record.timestamp;
        records.push_back(std::move(record));
    }
    return records;
}

// The records without their timestamps.
std::vector<std::string> bodies_of(const std::string& content) {
    std::vector<std::string> bodies;
    for (const Record& record : records_of(content)) {
        bodies.push_back(record.rest);
    }
    return bodies;
}

// What kubelet reconstructs: P texts joined with the next record's text, one
// line per F record.
std::string reassemble(const std::vector<std::string>& bodies, std::string_view stream) {
    std::string out;
    for (const std::string& body : bodies) {
        const std::string prefix_f = std::string(stream) + " F ";
        const std::string prefix_p = std::string(stream) + " P ";
        if (body.rfind(prefix_f, 0) == 0) {
            out += body.substr(prefix_f.size());
            out += '\n';
        } else if (body.rfind(prefix_p, 0) == 0) {
            out += body.substr(prefix_p.size());
        } else {
            ADD_FAILURE() << "unexpected record: " << body;
        }
    }
    return out;
}

class CriLogTest : public testing::Test {
protected:
    berth::test::TempDir dir_;
    const std::string path_ = dir_ / "container.log";
};

TEST_F(CriLogTest, OpenCreatesEmptyLog) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    EXPECT_TRUE(std::filesystem::exists(path_));
    EXPECT_EQ(read_file(path_), "");
}

TEST_F(CriLogTest, OpenFailsWithErrnoWhenTheLogDirectoryIsMissing) {
    CriLog log(dir_ / "missing", "dir/container.log", 0);
    errno = 0;
    EXPECT_FALSE(log.open());
    EXPECT_EQ(errno, ENOENT);
    EXPECT_NE(log.error().find(dir_ / "missing"), std::string::npos) << log.error();
}

TEST_F(CriLogTest, OpenCreatesMissingDirectoriesBeneathTheLogDirectory) {
    CriLog log(dir_.path(), "pod/ctr/0.log", 0);
    ASSERT_TRUE(log.open()) << log.error();
    EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / "pod/ctr/0.log"));
}

TEST_F(CriLogTest, ReopenRefusingALinkKeepsWritingTheOldFile) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    std::filesystem::rename(path_, path_ + ".1");
    std::filesystem::create_symlink(dir_ / "elsewhere", path_);
    EXPECT_FALSE(log.reopen());
    EXPECT_EQ(errno, ELOOP);
    log.write(Stream::kStdout, "kept\n");
    EXPECT_EQ(bodies_of(read_file(path_ + ".1")), std::vector<std::string>{"stdout F kept"});
    EXPECT_FALSE(std::filesystem::exists(dir_ / "elsewhere"));
}

TEST_F(CriLogTest, CompleteLineIsOneFullRecord) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "hello world\n");

    const std::string content = read_file(path_);
    const std::vector<Record> records = records_of(content);
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(content, records[0].timestamp + " stdout F hello world\n");
}

TEST_F(CriLogTest, TimestampIsCurrentUtc) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    // The clock CriLog reads (std::time may lag it by a tick).
    timespec before{};
    timespec after{};
    ::clock_gettime(CLOCK_REALTIME, &before);
    log.write(Stream::kStdout, "x\n");
    ::clock_gettime(CLOCK_REALTIME, &after);

    const std::vector<Record> records = records_of(read_file(path_));
    ASSERT_EQ(records.size(), 1U);
    std::tm utc{};
    ASSERT_NE(::strptime(records[0].timestamp.c_str(), "%Y-%m-%dT%H:%M:%S", &utc), nullptr);
    const std::time_t logged = ::timegm(&utc);
    EXPECT_GE(logged, before.tv_sec);
    EXPECT_LE(logged, after.tv_sec);
}

TEST_F(CriLogTest, StderrIsNamed) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStderr, "oops\n");

    const std::string content = read_file(path_);
    const std::vector<Record> records = records_of(content);
    ASSERT_EQ(records.size(), 1U);
    EXPECT_EQ(content, records[0].timestamp + " stderr F oops\n");
}

TEST_F(CriLogTest, TwoLinesInOneWriteAreTwoRecordsWithOneTimestamp) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "first\nsecond\n");

    const std::string content = read_file(path_);
    const std::vector<Record> records = records_of(content);
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(records[0].timestamp, records[1].timestamp);
    EXPECT_EQ(content, records[0].timestamp + " stdout F first\n" + records[1].timestamp +
                           " stdout F second\n");
}

TEST_F(CriLogTest, PartialLineThenContinuation) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "hel");
    EXPECT_EQ(bodies_of(read_file(path_)), (std::vector<std::string>{"stdout P hel"}));

    log.write(Stream::kStdout, "lo\n");
    const std::string content = read_file(path_);
    const std::vector<Record> records = records_of(content);
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(content,
              records[0].timestamp + " stdout P hel\n" + records[1].timestamp + " stdout F lo\n");
    EXPECT_EQ(reassemble(bodies_of(content), "stdout"), "hello\n");

    // The line was terminated: finishing the stream adds nothing.
    log.finish(Stream::kStdout);
    EXPECT_EQ(read_file(path_), content);
}

TEST_F(CriLogTest, LinesThenTrailingPieceInOneWrite) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStderr, "a\nb");
    EXPECT_EQ(bodies_of(read_file(path_)), (std::vector<std::string>{"stderr F a", "stderr P b"}));
}

TEST_F(CriLogTest, EmptyLine) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "\n");
    log.write(Stream::kStdout, "a\n\nb\n");

    const std::string content = read_file(path_);
    const std::vector<Record> records = records_of(content);
    ASSERT_EQ(records.size(), 4U);
    EXPECT_EQ(content, records[0].timestamp + " stdout F \n" + records[1].timestamp +
                           " stdout F a\n" + records[2].timestamp + " stdout F \n" +
                           records[3].timestamp + " stdout F b\n");
}

TEST_F(CriLogTest, EmptyWriteWritesNothing) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "");
    EXPECT_EQ(read_file(path_), "");
}

TEST_F(CriLogTest, LineLongerThanReadBufferIsSplitAndReassembles) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    // 2.5 read buffers of text and its newline, fed as berth-conmon's monitor
    // reads them: kReadBuffer bytes per write.
    std::string line;
    for (std::size_t i = 0; line.size() < kReadBuffer * 5 / 2; ++i) {
        line += static_cast<char>('a' + i % 26);
    }
    const std::string input = line + "\n";
    for (std::size_t offset = 0; offset < input.size(); offset += kReadBuffer) {
        log.write(Stream::kStdout, std::string_view(input).substr(offset, kReadBuffer));
    }

    const std::vector<std::string> bodies = bodies_of(read_file(path_));
    ASSERT_EQ(bodies.size(), 3U);
    EXPECT_EQ(bodies[0], "stdout P " + line.substr(0, kReadBuffer));
    EXPECT_EQ(bodies[1], "stdout P " + line.substr(kReadBuffer, kReadBuffer));
    EXPECT_EQ(bodies[2], "stdout F " + line.substr(2 * kReadBuffer));
    EXPECT_EQ(reassemble(bodies, "stdout"), input);
}

TEST_F(CriLogTest, FinishAfterPartialWritesEmptyFullRecord) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "no newline");
    log.finish(Stream::kStdout);

    const std::string content = read_file(path_);
    const std::vector<Record> records = records_of(content);
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(content, records[0].timestamp + " stdout P no newline\n" + records[1].timestamp +
                           " stdout F \n");
    EXPECT_EQ(reassemble(bodies_of(content), "stdout"), "no newline\n");

    // Once only.
    log.finish(Stream::kStdout);
    EXPECT_EQ(read_file(path_), content);
}

TEST_F(CriLogTest, FinishWithoutPartialWritesNothing) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.finish(Stream::kStdout);
    log.finish(Stream::kStderr);
    EXPECT_EQ(read_file(path_), "");
}

TEST_F(CriLogTest, StreamsTrackTheirPartialLinesApart) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "out");
    log.write(Stream::kStderr, "err\n");
    // stderr's own line does not terminate stdout's piece...
    log.finish(Stream::kStderr);
    // ...which stdout's end still does.
    log.finish(Stream::kStdout);
    EXPECT_EQ(bodies_of(read_file(path_)),
              (std::vector<std::string>{"stdout P out", "stderr F err", "stdout F "}));
}

TEST_F(CriLogTest, OpenAppendsToExistingLog) {
    { std::ofstream(path_) << "old record\n"; }
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "new\n");
    const std::string content = read_file(path_);
    ASSERT_EQ(content.rfind("old record\n", 0), 0U) << content;
    EXPECT_EQ(bodies_of(content.substr(11)), (std::vector<std::string>{"stdout F new"}));
}

TEST_F(CriLogTest, SizeMaxTruncatesAndKeepsWriting) {
    // Every record: 30-byte timestamp, " stdout F ", 9 bytes of text, newline:
    // 50 bytes. Four fit in 200 bytes; the fifth starts the log over.
    constexpr std::uint64_t kRecord = 30 + 10 + 9 + 1;
    constexpr std::uint64_t kMax = 4 * kRecord;
    CriLog log(dir_.path(), path_, kMax);
    ASSERT_TRUE(log.open());

    std::vector<std::string> expected;
    for (int i = 0; i < 11; ++i) {
        const std::string text = "record-0" + std::to_string(i % 10);
        log.write(Stream::kStdout, text + "\n");
        if (i % 4 == 0) {
            expected.clear();
        }
        expected.push_back("stdout F " + text);

        const auto size = std::filesystem::file_size(path_);
        EXPECT_LE(size, kMax) << "after record " << i;
        EXPECT_EQ(size, kRecord * expected.size()) << "after record " << i;
        EXPECT_EQ(bodies_of(read_file(path_)), expected) << "after record " << i;
    }
}

TEST_F(CriLogTest, SizeMaxTruncatesWithinOneWrite) {
    constexpr std::uint64_t kRecord = 30 + 10 + 9 + 1;
    constexpr std::uint64_t kMax = 3 * kRecord;
    CriLog log(dir_.path(), path_, kMax);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "line-0001\nline-0002\n");
    log.write(Stream::kStdout, "line-0003\nline-0004\nline-0005\n");

    EXPECT_LE(std::filesystem::file_size(path_), kMax);
    EXPECT_EQ(bodies_of(read_file(path_)),
              (std::vector<std::string>{"stdout F line-0004", "stdout F line-0005"}));
}

TEST_F(CriLogTest, SizeMaxCountsExistingContent) {
    constexpr std::uint64_t kRecord = 30 + 10 + 9 + 1;
    { std::ofstream(path_) << std::string(kRecord * 3, 'x'); }
    CriLog log(dir_.path(), path_, 4 * kRecord);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "line-0001\n");
    EXPECT_EQ(std::filesystem::file_size(path_), 4 * kRecord);
    log.write(Stream::kStdout, "line-0002\n");
    EXPECT_EQ(bodies_of(read_file(path_)), (std::vector<std::string>{"stdout F line-0002"}));
}

TEST_F(CriLogTest, ZeroSizeMaxIsUnlimited) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    for (int i = 0; i < 100; ++i) {
        log.write(Stream::kStdout, "line-0001\n");
    }
    EXPECT_EQ(records_of(read_file(path_)).size(), 100U);
}

TEST_F(CriLogTest, ReopenAfterRenameWritesNewFile) {
    CriLog log(dir_.path(), path_, 0);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "before\n");

    const std::string rotated = dir_ / "container.log.1";
    std::filesystem::rename(path_, rotated);
    // Until reopened the log still goes to the moved file.
    log.write(Stream::kStdout, "moved\n");
    EXPECT_FALSE(std::filesystem::exists(path_));

    ASSERT_TRUE(log.reopen());
    log.write(Stream::kStdout, "after\n");
    log.sync();

    EXPECT_EQ(bodies_of(read_file(rotated)),
              (std::vector<std::string>{"stdout F before", "stdout F moved"}));
    EXPECT_EQ(bodies_of(read_file(path_)), (std::vector<std::string>{"stdout F after"}));
}

TEST_F(CriLogTest, ReopenStartsSizeCountFromNewFile) {
    constexpr std::uint64_t kRecord = 30 + 10 + 9 + 1;
    CriLog log(dir_.path(), path_, 2 * kRecord);
    ASSERT_TRUE(log.open());
    log.write(Stream::kStdout, "line-0001\nline-0002\n");
    std::filesystem::rename(path_, dir_ / "container.log.1");
    ASSERT_TRUE(log.reopen());
    // The new file is empty: two records fit without truncation.
    log.write(Stream::kStdout, "line-0003\nline-0004\n");
    EXPECT_EQ(bodies_of(read_file(path_)),
              (std::vector<std::string>{"stdout F line-0003", "stdout F line-0004"}));
    EXPECT_EQ(records_of(read_file(dir_ / "container.log.1")).size(), 2U);
}

}  // namespace
