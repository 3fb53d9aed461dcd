// RuntimeVM's side of a shim's stdio: the fifos berthd opens before the shim
// does (no false end of file while the shim has not opened its end; the end
// of the stream once it closes it), the relay of both streams into the CRI
// log and to attached clients, and the drain after an exit while a writer
// still holds the fifo open.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "berth/oci/runtime_error.hpp"
#include "temp_dir.hpp"
#include "vm/output_relay.hpp"
#include "vm/task_fifos.hpp"

namespace vm = berth::oci::vm;
using berth::oci::OutputStream;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The log's records without their timestamps: "stdout F hello".
std::string records(const std::string& log) {
    std::string out;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);)
        out += line.substr(line.find(' ') + 1) + "\n";
    return out;
}

bool wait_for(const std::function<bool()>& condition,
              std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

int open_writer(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
}

}  // namespace

TEST(VmRelay, FifosAreCreatedOnlyForTheStreamsAsked) {
    berth::test::TempDir dir;
    const std::string prefix = (dir / "t-");
    auto fifos = vm::open_task_fifos(prefix, false, true, false);
    EXPECT_EQ(fifos.stdin_path, "");
    EXPECT_EQ(fifos.stdout_path, prefix + "stdout");
    EXPECT_EQ(fifos.stderr_path, "");
    EXPECT_TRUE(fifos.stdout_fd.valid());
    EXPECT_FALSE(fifos.stderr_fd.valid());
    // Opening again (a restarted berthd) reuses the fifo.
    auto again = vm::open_task_fifos(prefix, true, true, true);
    EXPECT_TRUE(again.stdin_fd.valid());
    fifos.unlink();
    again.unlink();
    EXPECT_FALSE(std::filesystem::exists(prefix + "stdout"));
}

TEST(VmRelay, BadDirectoryIsAnErrorNamingThePath) {
    try {
        vm::open_task_fifos("/nonexistent-berth-dir/x-", false, true, true);
        FAIL() << "expected a RuntimeError";
    } catch (const berth::oci::RuntimeError& error) {
        EXPECT_NE(std::string(error.what()).find("/nonexistent-berth-dir/x-stdout"),
                  std::string::npos)
            << error.what();
    }
}

TEST(VmRelay, RelaysBothStreamsIntoTheCriLogUntilTheWriterCloses) {
    berth::test::TempDir dir;
    auto fifos = vm::open_task_fifos((dir / ""), false, true, true);
    const std::string log = (dir / "c.log");
    vm::OutputRelay relay(std::move(fifos.stdout_fd), std::move(fifos.stderr_fd), dir.path(), log,
                          0);
    // No writer yet: the relay must not take that for the end of the streams.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int out = open_writer(fifos.stdout_path);
    const int err = open_writer(fifos.stderr_path);
    ASSERT_GE(out, 0);
    ASSERT_GE(err, 0);
    ASSERT_EQ(::write(out, "hello\npart", 10), 10);
    ASSERT_TRUE(wait_for([&] { return read_file(log).find("part") != std::string::npos; }));
    ASSERT_EQ(::write(err, "oops\n", 5), 5);
    ASSERT_TRUE(wait_for([&] { return read_file(log).find("oops") != std::string::npos; }));
    ::close(out);
    ::close(err);
    // Both writers gone: the streams ended, the partial line is terminated.
    relay.finish(std::chrono::seconds(5));
    EXPECT_EQ(records(read_file(log)), "stdout F hello\nstdout P part\nstderr F oops\nstdout F \n");
}

TEST(VmRelay, FinishDrainsWhatAWriterThatStaysOpenLeft) {
    berth::test::TempDir dir;
    auto fifos = vm::open_task_fifos((dir / ""), false, true, false);
    const std::string log = (dir / "c.log");
    vm::OutputRelay relay(std::move(fifos.stdout_fd), {}, dir.path(), log, 0);
    const int out = open_writer(fifos.stdout_path);
    ASSERT_EQ(::write(out, "last words\n", 11), 11);
    const auto started = std::chrono::steady_clock::now();
    relay.finish(std::chrono::milliseconds(300));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
    EXPECT_EQ(records(read_file(log)), "stdout F last words\n");
    ::close(out);
}

TEST(VmRelay, SubscribersGetTheOutputAndTheEnd) {
    berth::test::TempDir dir;
    auto fifos = vm::open_task_fifos((dir / ""), false, true, true);
    vm::OutputRelay relay(std::move(fifos.stdout_fd), std::move(fifos.stderr_fd), dir.path(),
                          "c.log", 0);
    auto subscriber = relay.subscribe();
    const int err = open_writer(fifos.stderr_path);
    const int out = open_writer(fifos.stdout_path);
    ASSERT_EQ(::write(err, "e1", 2), 2);
    const auto chunk = subscriber->next();
    ASSERT_TRUE(chunk);
    EXPECT_EQ(chunk->stream, OutputStream::Stderr);
    EXPECT_EQ(chunk->data, "e1");
    ::close(err);
    ::close(out);
    // The relay ends with the streams; the subscriber's stream ends with it.
    while (subscriber->next()) {
    }
    relay.finish(std::chrono::seconds(5));
    // A late subscriber gets the end at once.
    EXPECT_FALSE(relay.subscribe()->next());
}

TEST(VmRelay, ReopenLogStartsANewFileAfterRotation) {
    berth::test::TempDir dir;
    auto fifos = vm::open_task_fifos((dir / ""), false, true, false);
    const std::string log = (dir / "c.log");
    vm::OutputRelay relay(std::move(fifos.stdout_fd), {}, dir.path(), log, 0);
    const int out = open_writer(fifos.stdout_path);
    ASSERT_EQ(::write(out, "one\n", 4), 4);
    ASSERT_TRUE(wait_for([&] { return read_file(log).find("one") != std::string::npos; }));
    std::filesystem::rename(log, log + ".1");
    relay.reopen_log();
    ASSERT_EQ(::write(out, "two\n", 4), 4);
    ASSERT_TRUE(wait_for([&] { return read_file(log).find("two") != std::string::npos; }));
    EXPECT_EQ(records(read_file(log)), "stdout F two\n");
    EXPECT_EQ(records(read_file(log + ".1")), "stdout F one\n");
    ::close(out);
}

TEST(VmRelay, UnwritableLogIsAnError) {
    berth::test::TempDir dir;
    auto fifos = vm::open_task_fifos((dir / ""), false, true, false);
    EXPECT_THROW(
        vm::OutputRelay(std::move(fifos.stdout_fd), {}, "/nonexistent-berth-dir", "c.log", 0),
        berth::oci::RuntimeError);
}

// The relay writes as root at a path a CRI client named: a link planted in
// the log directory must not redirect it, neither at the start nor when the
// log is reopened after a rotation.
TEST(VmRelay, LogThroughASymbolicLinkIsRefused) {
    berth::test::TempDir dir;
    berth::test::TempDir outside;
    const std::string target = outside / "target";
    { std::ofstream(target) << "untouched\n"; }
    std::filesystem::create_directories(dir / "logs");
    std::filesystem::create_symlink(target, dir / "logs/c.log");
    auto fifos = vm::open_task_fifos((dir / ""), false, true, false);
    try {
        vm::OutputRelay relay(std::move(fifos.stdout_fd), {}, dir / "logs", dir / "logs/c.log", 0);
        FAIL() << "expected a RuntimeError";
    } catch (const berth::oci::RuntimeError& error) {
        EXPECT_NE(std::string(error.what()).find("symbolic link"), std::string::npos)
            << error.what();
    }
    EXPECT_EQ(read_file(target), "untouched\n");
}

TEST(VmRelay, ReopenLogRefusesASymbolicLinkAndKeepsTheOldFile) {
    berth::test::TempDir dir;
    berth::test::TempDir outside;
    const std::string target = outside / "target";
    { std::ofstream(target) << "untouched\n"; }
    auto fifos = vm::open_task_fifos((dir / ""), false, true, false);
    const std::string log = (dir / "c.log");
    vm::OutputRelay relay(std::move(fifos.stdout_fd), {}, dir.path(), log, 0);
    const int out = open_writer(fifos.stdout_path);
    ASSERT_EQ(::write(out, "one\n", 4), 4);
    ASSERT_TRUE(wait_for([&] { return read_file(log).find("one") != std::string::npos; }));
    std::filesystem::rename(log, log + ".1");
    std::filesystem::create_symlink(target, log);
    try {
        relay.reopen_log();
        ADD_FAILURE() << "the link was followed";
    } catch (const berth::oci::RuntimeError& error) {
        EXPECT_EQ(error.kind(), berth::oci::RuntimeErrorKind::FailedPrecondition);
        EXPECT_NE(std::string(error.what()).find("symbolic link"), std::string::npos)
            << error.what();
    }
    ASSERT_EQ(::write(out, "two\n", 4), 4);
    ASSERT_TRUE(wait_for([&] { return read_file(log + ".1").find("two") != std::string::npos; }));
    EXPECT_EQ(read_file(target), "untouched\n");
    ::close(out);
}
