#include "berthd_instance.hpp"

#include "crun_host.hpp"
#include "mount_cleanup.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace berth::test {

NotifySocket::NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        throw std::runtime_error("cannot bind notify socket " + path_);
    }
}

NotifySocket::~NotifySocket() {
    close(fd_);
    unlink(path_.c_str());
}

std::optional<std::string> NotifySocket::receive(std::chrono::milliseconds timeout) {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) {
        return std::nullopt;
    }
    char buffer[4096];
    ssize_t size = recv(fd_, buffer, sizeof(buffer), 0);
    if (size < 0) {
        return std::nullopt;
    }
    return std::string(buffer, static_cast<size_t>(size));
}

bool NotifySocket::wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        auto message = receive(left);
        if (message && message->find(needle) != std::string::npos) {
            return true;
        }
    }
}

namespace {

// A runtime root of this instance's own that is short enough for the unix
// sockets runc and crun bind below it (a temporary directory is not).
std::string short_runtime_root() {
    static std::atomic<int> counter{0};
    return "/run/bt" + std::to_string(getpid()) + "x" + std::to_string(counter++);
}

}  // namespace

BerthdInstance::BerthdInstance(BerthdOptions options)
    : options_(std::move(options)), runtime_roots_(short_runtime_root()) {
    // crun is berthd's default handler where it can run containers; the
    // host is made so here (as `make test` would need anyway), so that every
    // test's daemon has the same default, crun, whatever ran before.
    std::string crun_unusable;
    if (!prepare_host_for_crun(crun_unusable))
        std::fprintf(stderr, "berthd's default handler will be runc: %s\n", crun_unusable.c_str());
    std::string runtimes;
    for (const char* runtime : {"runc", "crun"}) {
        if (::access((std::string("/usr/bin/") + runtime).c_str(), X_OK) == 0 ||
            ::access((std::string("/usr/sbin/") + runtime).c_str(), X_OK) == 0) {
            runtimes += std::string("[berth.runtime.runtimes.") + runtime + "]\nruntime_root = \"" +
                        runtime_roots_ + "/" + runtime + "\"\n";
            const auto settings = options_.handler_settings.find(runtime);
            if (settings != options_.handler_settings.end())
                runtimes += settings->second;
        }
    }
    dir_.write("berth.conf", "[berth]\nroot = \"" + (dir_ / "root") + "\"\nrunroot = \"" +
                                 (dir_ / "run") + "\"\nlog_dir = \"" + (dir_ / "logs") +
                                 "\"\n[berth.network]\nnetwork_dir = \"" + (dir_ / "net.d") +
                                 "\"\n" + runtimes + options_.extra_config);
}

BerthdInstance::~BerthdInstance() {
    process_.reset();
    // Containers outlive berthd by design; a test that failed half-way may
    // leave some. Their monitors and runtime state go with the directory.
    const std::string dir = dir_.path().string();
    run_command("pkill -KILL -f '[b]erth-conmon --cid .*" + dir + "/' 2>/dev/null");
    // runc/ and crun/, and the roots of handlers a test added (runc ones).
    std::error_code missing;
    for (const auto& entry : std::filesystem::directory_iterator(runtime_roots_, missing)) {
        const std::string root = entry.path().string();
        const std::string runtime = entry.path().filename() == "crun" ? "crun" : "runc";
        run_command("for c in $(" + runtime + " --root " + root + " list -q); do " + runtime +
                    " --root " + root + " delete -f $c; done 2>/dev/null");
    }
    unmount_all_below(dir);
    std::error_code ignored;
    std::filesystem::remove_all(runtime_roots_, ignored);
}

std::vector<std::string> BerthdInstance::base_args() const {
    return {BERTHD_PATH, "--config", config_file(), "--config-dir", dir_ / "berth.conf.d"};
}

bool BerthdInstance::start(std::chrono::milliseconds timeout) {
    // Started again after it exited: the old socket's file goes first.
    process_.reset();
    notify_.reset();
    notify_ = std::make_unique<NotifySocket>(dir_ / "notify.sock");
    ChildOptions child;
    child.argv = base_args();
    child.argv.insert(child.argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    child.environment = options_.environment;
    child.environment["NOTIFY_SOCKET"] = notify_->path();
    child.stderr_file = stderr_file();
    child.before_exec = options_.before_exec;
    process_ = std::make_unique<ChildProcess>(std::move(child));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto message = notify_->receive(std::chrono::milliseconds(100));
        if (message && message->find("READY=1") != std::string::npos) {
            return true;
        }
        if (!process_->running()) {
            return false;
        }
    }
    return false;
}

bool BerthdInstance::wait_for_log(const std::string& text,
                                  std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (log().find(text) != std::string::npos)
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

bool BerthdInstance::stop_and_restart(std::chrono::milliseconds timeout) {
    if (process_) {
        process_->signal(SIGTERM);
        if (process_->wait_for_exit(timeout) != 0)
            return false;
    }
    process_.reset();
    notify_.reset();
    return start();
}

bool BerthdInstance::crash_and_restart() {
    if (process_) {
        process_->signal(SIGKILL);
        process_->wait_for_exit(std::chrono::seconds(10));
    }
    process_.reset();
    notify_.reset();
    return start();
}

std::shared_ptr<grpc::Channel> BerthdInstance::channel(const std::string& socket) const {
    // kubelet's client limits: 16 MiB messages either way (gRPC's own
    // default for receiving is 4 MiB).
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(16 * 1024 * 1024);
    arguments.SetMaxSendMessageSize(16 * 1024 * 1024);
    return grpc::CreateCustomChannel("unix://" + (socket.empty() ? socket_path() : socket),
                                     grpc::InsecureChannelCredentials(), arguments);
}

std::unique_ptr<runtime::v1::RuntimeService::Stub> BerthdInstance::runtime(
    const std::string& socket) const {
    return runtime::v1::RuntimeService::NewStub(channel(socket));
}

std::unique_ptr<runtime::v1::ImageService::Stub> BerthdInstance::image(
    const std::string& socket) const {
    return runtime::v1::ImageService::NewStub(channel(socket));
}

std::unique_ptr<grpc::ClientContext> deadline_context(std::chrono::milliseconds timeout) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + timeout);
    return context;
}

}  // namespace berth::test
