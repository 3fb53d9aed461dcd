// berth-conmon against real runc: started the way berthd starts it (sync pipe
// on a numbered fd), then judged by what berthd and kubelet see: the sync
// line, the CRI log, the exit and OOM files, the attach socket, the control
// fifo.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace berth::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

const std::string kRunc = "/usr/sbin/runc";
// Per test process: ctest runs each test in its own process, in parallel,
// and one process removing a shared parent cgroup at its end would pull it
// from under another's `runc create`.
std::string cgroup_parent() {
    return "berth-conmon-test-" + std::to_string(getpid());
}
// The fd number berthd hands the sync pipe on.
constexpr int kSyncFd = 5;

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

struct LogRecord {
    std::string stream;
    std::string tag;
    std::string text;  // without the record's newline
};

// Parses a CRI log, checking every record's timestamp format on the way.
std::vector<LogRecord> parse_log(const std::string& path) {
    static const std::regex kRecord(
        R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) ([FP]) ([\s\S]*)$)");
    std::vector<LogRecord> records;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch match;
        EXPECT_TRUE(std::regex_match(line, match, kRecord)) << "bad record: " << line;
        if (!match.empty()) {
            records.push_back({match[1], match[2], match[3]});
        }
    }
    return records;
}

// What kubelet makes of the records of one stream: P pieces joined, each F
// ends a line.
std::string reassemble(const std::vector<LogRecord>& records, const std::string& stream) {
    std::string text;
    for (const auto& record : records) {
        if (record.stream == stream) {
            text += record.text;
            if (record.tag == "F") {
                text += '\n';
            }
        }
    }
    return text;
}

bool process_alive(pid_t pid) {
    return pid > 0 && kill(pid, 0) == 0;
}

// A SOCK_SEQPACKET client of the attach socket.
class AttachClient {
public:
    explicit AttachClient(const std::string& path)
        : fd_(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    ~AttachClient() { close(); }
    AttachClient(const AttachClient&) = delete;
    AttachClient& operator=(const AttachClient&) = delete;

    bool connected() const { return connected_; }
    bool send(const std::string& data) {
        return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
               static_cast<ssize_t>(data.size());
    }
    // One output packet, or nullopt after `timeout`.
    std::optional<std::string> receive(std::chrono::milliseconds timeout = 5s) {
        pollfd waiting{fd_, POLLIN, 0};
        if (poll(&waiting, 1, static_cast<int>(timeout.count())) != 1) {
            return std::nullopt;
        }
        std::string packet(16384, '\0');
        const ssize_t count = recv(fd_, packet.data(), packet.size(), 0);
        if (count <= 0) {
            return std::nullopt;
        }
        packet.resize(static_cast<size_t>(count));
        return packet;
    }
    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_;
    bool connected_ = false;
};

class ConmonTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // Like PID 1 would, we inherit berth-conmon once its first process
        // exits: that lets the tests see its exit code and reap it.
        ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
        rootfs_dir_ = std::make_unique<TempDir>();
        const fs::path bin = rootfs_dir_->path() / "rootfs/bin";
        fs::create_directories(bin);
        fs::copy_file("/bin/busybox", bin / "busybox");
        for (const char* applet :
             {"sh", "echo", "sleep", "cat", "id", "head", "yes", "dd", "true", "tr", "stty"}) {
            fs::create_symlink("busybox", bin / applet);
        }
        const auto spec = run_command(kRunc + " spec --bundle " + rootfs_dir_->path().string());
        ASSERT_EQ(spec.exit_code, 0) << spec.output;
        spec_template_ = json::parse(read_file(*rootfs_dir_ / "config.json"));
    }

    static void TearDownTestSuite() {
        remove_cgroups(cgroup_parent());
        rootfs_dir_.reset();
    }

    void SetUp() override {
        static std::atomic<int> counter{0};
        id_ = "bct-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
        fs::create_directories(dir_.path() / "bundle");
        fs::create_directories(dir_.path() / "run");
    }

    void TearDown() override {
        runc("delete -f " + id_);
        if (conmon_pid_ > 0 && !wait_conmon(10s)) {
            kill(conmon_pid_, SIGKILL);
            wait_conmon(5s);
        }
        remove_cgroups(cgroup_parent() + "/" + id_);
    }

    static void remove_cgroups(const std::string& relative) {
        std::error_code ignored;
        for (const auto& controller : fs::directory_iterator("/sys/fs/cgroup", ignored)) {
            rmdir((controller.path() / relative).c_str());
        }
    }

    json make_config(const std::vector<std::string>& args, bool terminal = false) const {
        json config = spec_template_;
        config["root"]["path"] = (rootfs_dir_->path() / "rootfs").string();
        config["process"]["args"] = args;
        config["process"]["terminal"] = terminal;
        // The bounding set here lacks CAP_SYS_RESOURCE (see MACHINE.md).
        config["process"]["oomScoreAdj"] = 0;
        config["linux"]["cgroupsPath"] = "/" + cgroup_parent() + "/" + id_;
        return config;
    }

    void write_config(const json& config) const {
        std::ofstream(dir_ / "bundle/config.json") << config.dump(2);
    }

    std::string path(const std::string& name) const { return dir_ / ("run/" + name); }

    CommandResult runc(const std::string& arguments) const {
        return run_command(kRunc + " --root " + (dir_ / "runtime") + " " + arguments);
    }

    // Starts berth-conmon as berthd does and returns the parsed sync line.
    json start_conmon(const std::vector<std::string>& extra = {}) {
        int fds[2];
        EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
        const std::pair<const char*, std::string> options[] = {
            {"--cid", id_},
            {"--runtime", kRunc},
            {"--runtime-root", dir_ / "runtime"},
            {"--bundle", dir_ / "bundle"},
            {"--container-pidfile", path("pid")},
            {"--conmon-pidfile", path("conmon.pid")},
            {"--log-dir", dir_ / "run"},
            {"--log-path", path("ctr.log")},
            {"--exit-file", path("exit")},
            {"--oom-file", path("oom")},
            {"--attach-socket", path("attach")},
            {"--ctl-fifo", path("ctl")},
            {"--sync-fd", std::to_string(kSyncFd)},
        };
        std::vector<std::string> argv{BERTH_CONMON_PATH};
        for (const auto& [flag, value] : options) {
            argv.push_back(flag);
            argv.push_back(value);
        }
        argv.insert(argv.end(), extra.begin(), extra.end());
        const int write_end = fds[1];
        ChildProcess direct({.argv = argv,
                             .environment = {},
                             .stdout_file = path("conmon.out"),
                             .stderr_file = path("conmon.err"),
                             .before_exec = [write_end] {
                                 if (write_end == kSyncFd) {
                                     fcntl(kSyncFd, F_SETFD, 0);
                                 } else {
                                     dup2(write_end, kSyncFd);
                                 }
                             }});
        close(fds[1]);
        // The first process exits at once, before the container is even created.
        direct_exit_ = direct.wait_for_exit(5s);
        direct_pid_ = direct.pid();

        std::string line;
        char c = 0;
        pollfd waiting{fds[0], POLLIN, 0};
        while (poll(&waiting, 1, 10000) == 1 && read(fds[0], &c, 1) == 1 && c != '\n') {
            line += c;
        }
        close(fds[0]);
        const std::string pid_text = read_file(path("conmon.pid"));
        conmon_pid_ = pid_text.empty() ? -1 : std::stoi(pid_text);
        return json::parse(line, nullptr, false);
    }

    // Creates the container through berth-conmon and starts it.
    void run_container(const json& config, const std::vector<std::string>& extra = {}) {
        write_config(config);
        const json sync = start_conmon(extra);
        ASSERT_TRUE(sync.is_object()) << "no sync line";
        ASSERT_GT(sync.value("pid", -1), 0) << sync.dump();
        container_pid_ = sync["pid"];
        const auto started = runc("start " + id_);
        ASSERT_EQ(started.exit_code, 0) << started.output;
    }

    // The container's exit code from the exit file, once it appears.
    std::optional<int> wait_exit_file(std::chrono::milliseconds timeout = 10s) {
        if (!wait_until([&] { return fs::exists(path("exit")); }, timeout)) {
            return std::nullopt;
        }
        return std::stoi(read_file(path("exit")));
    }

    // berth-conmon's own exit code (we reap it: we are a subreaper).
    std::optional<int> wait_conmon(std::chrono::milliseconds timeout) {
        std::optional<int> result;
        wait_until(
            [&] {
                int status = 0;
                if (waitpid(conmon_pid_, &status, WNOHANG) == conmon_pid_) {
                    result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                    conmon_pid_ = -1;
                    return true;
                }
                return false;
            },
            timeout);
        return result;
    }

    bool log_contains(const std::string& file, const std::string& text) const {
        return read_file(file).find(text) != std::string::npos;
    }

    static inline std::unique_ptr<TempDir> rootfs_dir_;
    static inline json spec_template_;
    TempDir dir_;
    std::string id_;
    pid_t conmon_pid_ = -1;
    pid_t direct_pid_ = -1;
    pid_t container_pid_ = -1;
    std::optional<int> direct_exit_;
};

TEST_F(ConmonTest, RelaysStdoutAndStderrAsCriRecords) {
    run_container(make_config({"sh", "-c", "echo out1; echo err1 >&2; echo out2"}));
    EXPECT_EQ(wait_exit_file(), 0);
    EXPECT_EQ(wait_conmon(5s), 0);
    const auto records = parse_log(path("ctr.log"));
    EXPECT_EQ(reassemble(records, "stdout"), "out1\nout2\n");
    EXPECT_EQ(reassemble(records, "stderr"), "err1\n");
    for (const auto& record : records) {
        EXPECT_EQ(record.tag, "F") << record.text;
    }
    // Created 0640, and no socket or fifo left behind.
    struct stat info {};
    ASSERT_EQ(stat(path("ctr.log").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0640u);
    EXPECT_FALSE(fs::exists(path("attach")));
    EXPECT_FALSE(fs::exists(path("ctl")));
    EXPECT_FALSE(fs::exists(path("oom")));
}

TEST_F(ConmonTest, SplitsLongLinesIntoPartialRecords) {
    run_container(make_config({"sh", "-c", "head -c 65536 /dev/zero | tr '\\0' x; echo"}));
    EXPECT_EQ(wait_exit_file(), 0);
    const auto records = parse_log(path("ctr.log"));
    ASSERT_GE(records.size(), 9u);
    for (size_t i = 0; i + 1 < records.size(); ++i) {
        EXPECT_EQ(records[i].tag, "P");
        EXPECT_LE(records[i].text.size(), 8192u);
    }
    EXPECT_EQ(records.back().tag, "F");
    EXPECT_EQ(reassemble(records, "stdout"), std::string(65536, 'x') + "\n");
}

TEST_F(ConmonTest, OutputWithoutTrailingNewlineEndsWithEmptyFullRecord) {
    run_container(make_config({"sh", "-c", "printf abc"}));
    EXPECT_EQ(wait_exit_file(), 0);
    const auto records = parse_log(path("ctr.log"));
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].tag, "P");
    EXPECT_EQ(records[0].text, "abc");
    // As conmon: the stream closing terminates the partial line.
    EXPECT_EQ(records[1].tag, "F");
    EXPECT_EQ(records[1].text, "");
}

TEST_F(ConmonTest, WritesExitCode) {
    run_container(make_config({"sh", "-c", "exit 7"}));
    EXPECT_EQ(wait_exit_file(), 7);
    EXPECT_EQ(wait_conmon(5s), 0);
}

TEST_F(ConmonTest, OutlivesItsParentAndReportsKillSignal) {
    run_container(make_config({"sleep", "1000"}));
    // berthd's direct child is gone (and reaped) while the container runs.
    EXPECT_EQ(direct_exit_, 0);
    EXPECT_NE(conmon_pid_, direct_pid_);
    EXPECT_TRUE(process_alive(conmon_pid_));
    EXPECT_TRUE(process_alive(container_pid_));
    EXPECT_NE(runc("state " + id_).output.find("\"running\""), std::string::npos);
    // SIGTERM to the monitor itself is ignored.
    kill(conmon_pid_, SIGTERM);
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(process_alive(conmon_pid_));
    EXPECT_FALSE(fs::exists(path("exit")));

    EXPECT_EQ(runc("kill " + id_ + " KILL").exit_code, 0);
    EXPECT_EQ(wait_exit_file(), 128 + 9);
    EXPECT_EQ(wait_conmon(5s), 0);
}

TEST_F(ConmonTest, ReportsRuntimeFailureOnSyncPipe) {
    // An empty bundle: no config.json.
    const json sync = start_conmon();
    ASSERT_TRUE(sync.is_object());
    EXPECT_EQ(sync.value("pid", 0), -1);
    const std::string message = sync.value("message", "");
    EXPECT_NE(message.find("config.json"), std::string::npos) << message;
    EXPECT_NE(wait_conmon(5s).value_or(0), 0);
    EXPECT_FALSE(fs::exists(path("exit")));
    EXPECT_FALSE(fs::exists(path("attach")));
    EXPECT_FALSE(fs::exists(path("ctl")));
}

TEST_F(ConmonTest, AttachClientsShareOutputAndStdinOnceClosesStdin) {
    write_config(make_config({"cat"}));
    const json sync = start_conmon({"--stdin", "--stdin-once"});
    ASSERT_GT(sync.value("pid", -1), 0) << sync.dump();
    // The socket exists as soon as berthd has the pid.
    AttachClient first(path("attach"));
    ASSERT_TRUE(first.connected());
    AttachClient second(path("attach"));
    ASSERT_TRUE(second.connected());
    ASSERT_EQ(runc("start " + id_).exit_code, 0);

    ASSERT_TRUE(first.send("hello\n"));
    EXPECT_EQ(first.receive(), std::string("\x02hello\n"));
    EXPECT_EQ(second.receive(), std::string("\x02hello\n"));
    // Only the first client leaving closes stdin.
    second.close();
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(fs::exists(path("exit")));
    first.close();
    EXPECT_EQ(wait_exit_file(), 0);
    const auto records = parse_log(path("ctr.log"));
    EXPECT_EQ(reassemble(records, "stdout"), "hello\n");
}

TEST_F(ConmonTest, ControlFifoReopensLog) {
    write_config(make_config({"cat"}));
    const json sync = start_conmon({"--stdin", "--stdin-once"});
    ASSERT_GT(sync.value("pid", -1), 0) << sync.dump();
    AttachClient client(path("attach"));
    ASSERT_TRUE(client.connected());
    ASSERT_EQ(runc("start " + id_).exit_code, 0);

    ASSERT_TRUE(client.send("one\n"));
    ASSERT_TRUE(wait_until([&] { return log_contains(path("ctr.log"), "one"); }));
    fs::rename(path("ctr.log"), path("ctr.log.1"));
    { std::ofstream(path("ctl")) << "2 0 0\n"; }
    ASSERT_TRUE(wait_until([&] { return fs::exists(path("ctr.log")); }));
    ASSERT_TRUE(client.send("two\n"));
    ASSERT_TRUE(wait_until([&] { return log_contains(path("ctr.log"), "two"); }));
    client.close();
    EXPECT_EQ(wait_exit_file(), 0);
    EXPECT_EQ(reassemble(parse_log(path("ctr.log.1")), "stdout"), "one\n");
    EXPECT_EQ(reassemble(parse_log(path("ctr.log")), "stdout"), "two\n");
}

// The log path comes from a CRI client and berth-conmon runs as root: a
// symbolic link planted in the log directory must not take its writes
// elsewhere, neither when it starts nor when the log is reopened.
TEST_F(ConmonTest, RefusesALogFileThatIsASymbolicLink) {
    TempDir outside;
    const std::string precious = outside.write("precious", "precious\n");
    fs::create_symlink(precious, path("ctr.log"));
    write_config(make_config({"sh", "-c", "echo owned"}));
    const json sync = start_conmon();
    ASSERT_TRUE(sync.is_object());
    EXPECT_EQ(sync.value("pid", 0), -1);
    const std::string message = sync.value("message", "");
    EXPECT_NE(message.find("symbolic link"), std::string::npos) << message;
    EXPECT_NE(wait_conmon(5s).value_or(0), 0);
    EXPECT_EQ(read_file(precious), "precious\n");
    // Refused before the runtime was asked for anything.
    EXPECT_NE(runc("state " + id_).exit_code, 0);
}

TEST_F(ConmonTest, RefusesALogDirectoryOnTheWayThatIsASymbolicLink) {
    TempDir outside;
    fs::create_symlink(outside.path(), path("pod"));
    write_config(make_config({"sh", "-c", "echo owned"}));
    const json sync = start_conmon({"--log-path", path("pod/ctr.log")});
    ASSERT_TRUE(sync.is_object());
    EXPECT_EQ(sync.value("pid", 0), -1);
    EXPECT_NE(sync.value("message", "").find("symbolic link"), std::string::npos) << sync.dump();
    EXPECT_FALSE(fs::exists(outside / "ctr.log"));
}

TEST_F(ConmonTest, RefusesALogPathOutsideTheLogDirectory) {
    TempDir outside;
    write_config(make_config({"sh", "-c", "echo owned"}));
    const json sync = start_conmon({"--log-path", outside / "ctr.log"});
    ASSERT_TRUE(sync.is_object());
    EXPECT_EQ(sync.value("pid", 0), -1);
    EXPECT_NE(sync.value("message", "").find("not inside the log directory"), std::string::npos)
        << sync.dump();
    EXPECT_FALSE(fs::exists(outside / "ctr.log"));
}

TEST_F(ConmonTest, ControlFifoReopenDoesNotFollowASymbolicLink) {
    TempDir outside;
    const std::string precious = outside.write("precious", "precious\n");
    write_config(make_config({"cat"}));
    const json sync = start_conmon({"--stdin", "--stdin-once"});
    ASSERT_GT(sync.value("pid", -1), 0) << sync.dump();
    AttachClient client(path("attach"));
    ASSERT_TRUE(client.connected());
    ASSERT_EQ(runc("start " + id_).exit_code, 0);

    ASSERT_TRUE(client.send("one\n"));
    ASSERT_TRUE(wait_until([&] { return log_contains(path("ctr.log"), "one"); }));
    fs::rename(path("ctr.log"), path("ctr.log.1"));
    fs::create_symlink(precious, path("ctr.log"));
    { std::ofstream(path("ctl")) << "2 0 0\n"; }
    // Nothing to wait for when the reopen is refused: give it time to happen
    // before the next output, which would otherwise race it.
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(client.send("two\n"));
    // Refused: the old file stays in use.
    ASSERT_TRUE(wait_until([&] { return log_contains(path("ctr.log.1"), "two"); }));
    client.close();
    EXPECT_EQ(wait_exit_file(), 0);
    EXPECT_EQ(read_file(precious), "precious\n");
    EXPECT_EQ(reassemble(parse_log(path("ctr.log.1")), "stdout"), "one\ntwo\n");
}

TEST_F(ConmonTest, TruncatesLogAtSizeMax) {
    run_container(make_config({"sh", "-c",
                               "i=0; while [ $i -lt 100 ]; do "
                               "echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
                               "i=$((i+1)); done"}),
                  {"--log-size-max", "2000"});
    EXPECT_EQ(wait_exit_file(), 0);
    EXPECT_LE(fs::file_size(path("ctr.log")), 2000u);
    const std::string stdout_text = reassemble(parse_log(path("ctr.log")), "stdout");
    EXPECT_NE(stdout_text.find("line-99-"), std::string::npos);
    EXPECT_EQ(stdout_text.find("line-0-"), std::string::npos);
}

TEST_F(ConmonTest, DetectsOomKill) {
    json config = make_config({"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"});
    config["linux"]["resources"]["memory"]["limit"] = 16 * 1024 * 1024;
    run_container(config);
    EXPECT_EQ(wait_exit_file(), 128 + 9);
    EXPECT_TRUE(fs::exists(path("oom")));
}

TEST_F(ConmonTest, TerminalOutputArrivesAsStdout) {
    write_config(make_config({"sh", "-c", "sleep 0.3; stty size; echo tty-out"}, true));
    const json sync = start_conmon({"--terminal"});
    ASSERT_GT(sync.value("pid", -1), 0) << sync.dump();
    { std::ofstream(path("ctl")) << "1 40 100\n"; }
    ASSERT_EQ(runc("start " + id_).exit_code, 0);
    EXPECT_EQ(wait_exit_file(), 0);
    const auto records = parse_log(path("ctr.log"));
    // The pty turns "\n" into "\r\n".
    EXPECT_EQ(reassemble(records, "stdout"), "40 100\r\ntty-out\r\n");
    EXPECT_EQ(reassemble(records, "stderr"), "");
}

}  // namespace
}  // namespace berth::test
