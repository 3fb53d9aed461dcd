// A real berthd for integration tests, confined to a temporary directory:
// its own root, runroot, socket, CNI directory and sd_notify socket.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "berth/cri_api.hpp"
#include "child_process.hpp"
#include "temp_dir.hpp"

namespace berth::test {

// A datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
public:
    explicit NotifySocket(std::string path);
    ~NotifySocket();
    const std::string& path() const { return path_; }
    // The next message, or nullopt after `timeout`.
    std::optional<std::string> receive(std::chrono::milliseconds timeout);
    // Waits for a message containing `needle`; false after `timeout`.
    bool wait_for(const std::string& needle, std::chrono::milliseconds timeout);

private:
    std::string path_;
    int fd_ = -1;
};

struct BerthdOptions {
    std::string extra_config;  // appended to berth.conf
    // Lines added to a built-in handler's table ("runc", "crun"), e.g.
    // `runtime_path = "..."`.
    std::map<std::string, std::string> handler_settings;
    std::vector<std::string> extra_args;
    std::map<std::string, std::string> environment;
    std::function<void()> before_exec;
};

class BerthdInstance {
public:
    explicit BerthdInstance(BerthdOptions options = {});
    // Kills berthd and detaches any mount it left below the directory (pinned
    // namespaces, shm), so that a failed test leaves nothing behind.
    ~BerthdInstance();

    // Starts berthd (again, after it exited); returns once READY=1 arrived
    // (true) or it failed (false).
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    // SIGKILLs berthd (as a crash would) and starts it again on the same
    // directories.
    bool crash_and_restart();
    // SIGTERMs berthd (as systemd's stop does), waits up to `timeout` for it
    // to exit 0, and starts it again on the same directories. False when it
    // did not exit in time or cleanly, or did not start again.
    bool stop_and_restart(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // A runtime_root of this instance's own for handler `name`, short enough
    // for the sockets runc binds below it; containers left in it are
    // deleted (with runc, crun for "crun") when the instance goes.
    std::string runtime_root(const std::string& name) const { return runtime_roots_ + "/" + name; }

    const TempDir& dir() const { return dir_; }
    std::string socket_path() const { return dir_ / "run/berth.sock"; }
    std::string config_file() const { return dir_ / "berth.conf"; }
    std::string stderr_file() const { return dir_ / "berthd.stderr"; }
    std::string log() const { return read_file(stderr_file()); }
    // Waits until berthd's log (since its last start) contains `text`.
    bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const;
    ChildProcess& process() { return *process_; }
    NotifySocket& notify() { return *notify_; }

    std::vector<std::string> base_args() const;

    std::shared_ptr<grpc::Channel> channel(const std::string& socket = "") const;
    std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime(
        const std::string& socket = "") const;
    std::unique_ptr<runtime::v1::ImageService::Stub> image(const std::string& socket = "") const;

private:
    BerthdOptions options_;
    std::string runtime_roots_;  // /run/bt<pid>x<n>: runc/ and crun/ below it
    TempDir dir_;
    std::unique_ptr<NotifySocket> notify_;
    std::unique_ptr<ChildProcess> process_;
};

// A client context with a deadline, so that a hung daemon fails the test
// instead of hanging it.
std::unique_ptr<grpc::ClientContext> deadline_context(
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace berth::test
