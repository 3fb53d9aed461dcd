#include "berth/storage/layer_unpack.hpp"

#include "berth/config/helper_binary.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace berth::storage {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHelperName = "berth-unpack";
// The helper prints one short line either way; anything beyond this is
// garbage that must not grow the daemon.
constexpr std::size_t kOutputLimit = 64 * 1024;

std::string errno_text(int error) {
    return std::strerror(error);
}

class UniqueFd {
public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.fd_, -1));
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_;
};

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

// O_CLOEXEC from the start: a child another thread spawns at the same moment
// must not inherit our write end, or our reader would never see EOF.
Pipe make_pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        throw LayerUnpackError("cannot create a pipe for " + std::string(kHelperName) + ": " +
                               errno_text(errno));
    }
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

class SpawnFileActions {
public:
    SpawnFileActions() { posix_spawn_file_actions_init(&actions_); }
    ~SpawnFileActions() { posix_spawn_file_actions_destroy(&actions_); }
    SpawnFileActions(const SpawnFileActions&) = delete;
    SpawnFileActions& operator=(const SpawnFileActions&) = delete;
    posix_spawn_file_actions_t* get() { return &actions_; }

private:
    posix_spawn_file_actions_t actions_;
};

class SpawnAttributes {
public:
    SpawnAttributes() { posix_spawnattr_init(&attributes_); }
    ~SpawnAttributes() { posix_spawnattr_destroy(&attributes_); }
    SpawnAttributes(const SpawnAttributes&) = delete;
    SpawnAttributes& operator=(const SpawnAttributes&) = delete;
    posix_spawnattr_t* get() { return &attributes_; }

private:
    posix_spawnattr_t attributes_;
};

// A started helper: killed (with its process group) and reaped whatever way
// the caller leaves, so that neither a zombie nor a runaway unpack remains.
class Child {
public:
    explicit Child(pid_t pid) : pid_(pid) {}
    ~Child() {
        if (pid_ > 0) {
            kill_group();
            wait_exit();
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    void kill_group() const {
        kill(-pid_, SIGKILL);
        kill(pid_, SIGKILL);  // in case setpgid had not happened yet
    }

    // The raw wait status; -1 when another part of the process reaped it.
    int wait_exit() {
        int status = 0;
        pid_t result = 0;
        do {
            result = waitpid(pid_, &status, 0);
        } while (result < 0 && errno == EINTR);
        pid_ = -1;
        return result < 0 ? -1 : status;
    }

private:
    pid_t pid_;
};

void append_limited(std::string& text, const char* data, std::size_t size) {
    if (text.size() < kOutputLimit) {
        text.append(data, std::min(size, kOutputLimit - text.size()));
    }
}

// Reads the helper's stdout and stderr to their ends; false when the deadline
// passed first.
bool collect_output(UniqueFd out, UniqueFd err, std::string& out_text, std::string& err_text,
                    std::chrono::steady_clock::time_point deadline) {
    while (out.get() >= 0 || err.get() >= 0) {
        const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (remaining.count() <= 0) {
            return false;
        }
        pollfd fds[2] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}};
        const int ready =
            poll(fds, 2, static_cast<int>(std::min<std::int64_t>(remaining.count(), 60'000)));
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw LayerUnpackError("waiting for " + std::string(kHelperName) + ": " +
                                   errno_text(errno));
        }
        UniqueFd* streams[2] = {&out, &err};
        std::string* texts[2] = {&out_text, &err_text};
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            char buffer[4096];
            const ssize_t count = read(fds[i].fd, buffer, sizeof buffer);
            if (count > 0) {
                append_limited(*texts[i], buffer, static_cast<std::size_t>(count));
            } else if (count == 0 || errno != EINTR) {
                streams[i]->reset();
            }
        }
    }
    return true;
}

std::string trimmed_lines(const std::string& text) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        std::string line = text.substr(start, end - start);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
            line.pop_back();
        }
        if (!line.empty()) {
            out += (out.empty() ? "" : "; ") + line;
        }
        start = end + 1;
    }
    return out;
}

UnpackResult parse_result(const std::string& output) {
    const std::string line = trimmed_lines(output);
    try {
        const auto json = nlohmann::json::parse(line);
        UnpackResult result;
        result.diff_id = json.at("diff_id").get<std::string>();
        result.uncompressed_size = json.at("size").get<std::uint64_t>();
        result.entries = json.at("entries").get<std::uint64_t>();
        result.skipped_devices = json.value("skipped_devices", std::uint64_t{0});
        if (result.diff_id.size() != 71 || !result.diff_id.starts_with("sha256:")) {
            throw std::runtime_error("bad diff_id");
        }
        return result;
    } catch (const std::exception& error) {
        throw LayerUnpackError(std::string(kHelperName) + " printed an unexpected result (" +
                               error.what() + "): " + line.substr(0, 200));
    }
}

}  // namespace

UnpackResult unpack_layer(const std::string& helper, const fs::path& archive,
                          const fs::path& destination, const UnpackOptions& options) {
    if (access(helper.c_str(), X_OK) != 0) {
        throw LayerUnpackError("layer unpack helper " + helper +
                               " cannot be run: " + errno_text(errno));
    }
    std::error_code error;
    fs::create_directories(destination, error);
    if (error) {
        throw LayerUnpackError("cannot create " + destination.string() + ": " + error.message());
    }
    if (!fs::is_empty(destination, error) || error) {
        throw LayerUnpackError("cannot unpack into " + destination.string() + ": " +
                               (error ? error.message() : "directory is not empty"));
    }
    // Absolute paths: the helper's working directory does not matter, and no
    // name can start with '-' and pass for an option.
    const std::string archive_arg = fs::absolute(archive).string();
    const std::string destination_arg = fs::absolute(destination).string();

    Pipe out = make_pipe();
    Pipe err = make_pipe();
    SpawnFileActions actions;
    posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(actions.get(), out.write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(actions.get(), err.write.get(), STDERR_FILENO);
    // Whatever other threads opened without O_CLOEXEC stays out of the helper.
    posix_spawn_file_actions_addclosefrom_np(actions.get(), STDERR_FILENO + 1);

    SpawnAttributes attributes;
    sigset_t unblocked;
    sigemptyset(&unblocked);
    posix_spawnattr_setsigmask(attributes.get(), &unblocked);
    // berthd ignores SIGPIPE; the helper should die of it like any tool.
    sigset_t defaults;
    sigemptyset(&defaults);
    for (const int signal_number : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) {
        sigaddset(&defaults, signal_number);
    }
    posix_spawnattr_setsigdefault(attributes.get(), &defaults);
    // Its own process group: a timeout kills it and anything it started.
    posix_spawnattr_setpgroup(attributes.get(), 0);
    posix_spawnattr_setflags(
        attributes.get(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

    std::vector<std::string> arguments = {helper};
    if (!options.allow_devices) {
        arguments.emplace_back("--no-devices");
    }
    arguments.push_back(archive_arg);
    arguments.push_back(destination_arg);
    std::vector<char*> argv;
    for (auto& argument : arguments) {
        argv.push_back(argument.data());
    }
    argv.push_back(nullptr);
    std::string path_variable = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char* environment[] = {path_variable.data(), nullptr};

    // posix_spawn (a vfork-like clone) rather than fork: berthd's memory is
    // not duplicated, and exec failures come back as the return value.
    pid_t pid = -1;
    const int spawn_error = posix_spawn(&pid, helper.c_str(), actions.get(), attributes.get(),
                                        argv.data(), environment);
    if (spawn_error != 0) {
        throw LayerUnpackError("cannot run " + helper + ": " + errno_text(spawn_error));
    }
    Child child(pid);
    out.write.reset();
    err.write.reset();

    std::string out_text;
    std::string err_text;
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    if (!collect_output(std::move(out.read), std::move(err.read), out_text, err_text, deadline)) {
        child.kill_group();
        child.wait_exit();
        throw LayerUnpackError("unpacking " + archive.string() + " timed out after " +
                               std::to_string(options.timeout.count()) + "s");
    }
    const int status = child.wait_exit();
    const std::string reason = trimmed_lines(err_text);
    if (status == -1) {
        throw LayerUnpackError("unpacking " + archive.string() + ": the exit status of " +
                               kHelperName + " was lost (reaped elsewhere)");
    }
    if (WIFSIGNALED(status)) {
        throw LayerUnpackError("unpacking " + archive.string() + ": " + kHelperName +
                               " was killed by signal " + std::to_string(WTERMSIG(status)) +
                               (reason.empty() ? "" : " (" + reason + ")"));
    }
    if (WEXITSTATUS(status) != 0) {
        // berth-unpack's status 3: the destination's filesystem is full.
        constexpr int kExitNoSpace = 3;
        throw LayerUnpackError("unpacking " + archive.string() + ": " +
                                   (reason.empty() ? std::string(kHelperName) +
                                                         " exited with status " +
                                                         std::to_string(WEXITSTATUS(status))
                                                   : reason),
                               WEXITSTATUS(status) == kExitNoSpace);
    }
    return parse_result(out_text);
}

std::string find_unpack_helper() {
    return config::find_helper_binary(kHelperName);
}

}  // namespace berth::storage
