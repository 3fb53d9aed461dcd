#include "network/cni_invoke.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "unique_fd.hpp"

namespace berth::daemon::network {

namespace fs = std::filesystem;

namespace {

bool valid_list(const nlohmann::json& list) {
    if (!list.is_object() || !list.contains("name") || !list["name"].is_string() ||
        !list.contains("plugins") || !list["plugins"].is_array() || list["plugins"].empty()) {
        return false;
    }
    return std::all_of(list["plugins"].begin(), list["plugins"].end(), [](const auto& plugin) {
        return plugin.is_object() && plugin.contains("type") && plugin["type"].is_string();
    });
}

struct PluginOutput {
    int exit_code = -1;
    std::string stdout_text;
    std::string stderr_text;
};

std::string find_plugin(const std::string& type, const std::vector<std::string>& dirs) {
    if (type.find('/') != std::string::npos) {
        throw std::runtime_error("CNI plugin type \"" + type + "\" must be a plain name");
    }
    for (const auto& dir : dirs) {
        const std::string candidate = dir + "/" + type;
        if (access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    std::string searched;
    for (const auto& dir : dirs) {
        searched += (searched.empty() ? "" : ", ") + dir;
    }
    throw std::runtime_error("CNI plugin \"" + type + "\" not found in " + searched);
}

constexpr std::size_t kMaxPluginOutput = 16 * 1024 * 1024;

// Writes what it can of `data`; a plugin that exits without reading its
// stdin must not kill the calling process with SIGPIPE (whatever that
// process's disposition), so the signal is blocked in this thread for the
// write and a pending one is consumed.
void write_ignoring_sigpipe(int fd, const std::string& data) {
    sigset_t pipe_only;
    sigset_t previous;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
    std::size_t written = 0;
    bool broken = false;
    while (written < data.size()) {
        ssize_t n = write(fd, data.data() + written, data.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            broken = errno == EPIPE;
            break;
        }
        written += static_cast<std::size_t>(n);
    }
    if (broken && !sigismember(&previous, SIGPIPE)) {
        const timespec no_wait{0, 0};
        sigtimedwait(&pipe_only, nullptr, &no_wait);
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

// Runs one plugin with `input` on stdin; kills it when `timeout` passes.
PluginOutput execute(const std::string& binary, const std::vector<std::string>& environment,
                     const std::string& input, std::chrono::seconds timeout) {
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
        pipe2(err_pipe, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    UniqueFd in_read(in_pipe[0]), in_write(in_pipe[1]);
    UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
    UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

    std::vector<char*> envp;
    for (const auto& entry : environment) {
        envp.push_back(const_cast<char*>(entry.c_str()));
    }
    envp.push_back(nullptr);
    char* argv[] = {const_cast<char*>(binary.c_str()), nullptr};

    // posix_spawn, not fork: glibc's shares the address space until the
    // exec (CLONE_VM|CLONE_VFORK), where a fork would copy the daemon's
    // page tables for every plugin call, and write-fault its pages after.
    // The plugin gets a process group of its own, so that a timeout kills
    // whatever it started too; only stdio reaches it, whatever the daemon
    // has open without O_CLOEXEC; no signal is blocked in it.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup(&attributes, 0);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    pid_t pid = -1;
    const int spawn_error =
        posix_spawn(&pid, binary.c_str(), &actions, &attributes, argv, envp.data());
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (spawn_error != 0) {
        throw std::runtime_error("CNI plugin " + binary + ": " + std::strerror(spawn_error));
    }
    in_read.reset();
    out_write.reset();
    err_write.reset();
    write_ignoring_sigpipe(in_write.get(), input);
    in_write.reset();

    PluginOutput output;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
    int open_streams = 2;
    bool timed_out = false;
    while (open_streams > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) {
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            char buffer[8192];
            ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
            if (n > 0) {
                auto& text = i == 0 ? output.stdout_text : output.stderr_text;
                // A runaway plugin cannot make the daemon hold unbounded
                // output: past the cap it is read and dropped.
                if (text.size() < kMaxPluginOutput) {
                    text.append(buffer, static_cast<std::size_t>(n));
                }
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_streams;
            }
        }
    }
    if (timed_out) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        throw std::runtime_error("CNI plugin " + binary + " timed out after " +
                                 std::to_string(timeout.count()) + "s");
    }
    output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return output;
}

std::string join_dirs(const std::vector<std::string>& dirs) {
    std::string joined;
    for (const auto& dir : dirs) {
        joined += (joined.empty() ? "" : ":") + dir;
    }
    return joined;
}

// The stdin a plugin gets: its own config plus the list's name and version,
// the runtime arguments it declared, and the previous result.
nlohmann::json plugin_input(const nlohmann::json& network, const nlohmann::json& plugin,
                            const CniInvocation& invocation, const nlohmann::json& previous) {
    nlohmann::json input = plugin;
    input["name"] = network["name"];
    input["cniVersion"] = network.value("cniVersion", "1.0.0");
    input.erase("capabilities");
    if (plugin.contains("capabilities") && plugin["capabilities"].is_object()) {
        nlohmann::json runtime_config = nlohmann::json::object();
        for (const auto& [capability, enabled] : plugin["capabilities"].items()) {
            if (enabled == true && invocation.capability_args.contains(capability)) {
                runtime_config[capability] = invocation.capability_args[capability];
            }
        }
        if (!runtime_config.empty()) {
            input["runtimeConfig"] = runtime_config;
        }
    }
    if (!previous.is_null() && !previous.empty()) {
        input["prevResult"] = previous;
    }
    return input;
}

nlohmann::json invoke(const char* command, const nlohmann::json& network,
                      const nlohmann::json& plugin, const CniInvocation& invocation,
                      const nlohmann::json& previous) {
    const std::string type = plugin["type"].get<std::string>();
    const std::string binary = find_plugin(type, invocation.plugin_dirs);
    const std::vector<std::string> environment = {
        std::string("CNI_COMMAND=") + command,
        "CNI_CONTAINERID=" + invocation.container_id,
        "CNI_NETNS=" + invocation.netns,
        "CNI_IFNAME=" + invocation.ifname,
        "CNI_ARGS=" + invocation.args,
        "CNI_PATH=" + join_dirs(invocation.plugin_dirs),
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    };
    const auto output =
        execute(binary, environment, plugin_input(network, plugin, invocation, previous).dump(),
                invocation.timeout);
    if (output.exit_code != 0) {
        std::string message = output.stderr_text;
        auto error = nlohmann::json::parse(output.stdout_text, nullptr, false);
        if (!error.is_discarded() && error.is_object() && error.contains("msg")) {
            message = error["msg"].get<std::string>();
            if (error.contains("details") && error["details"].is_string() &&
                !error["details"].get<std::string>().empty()) {
                message += ": " + error["details"].get<std::string>();
            }
        }
        throw std::runtime_error(
            "CNI plugin " + type + " " + command + " failed: " +
            (message.empty() ? "exit status " + std::to_string(output.exit_code) : message));
    }
    if (std::string(command) != "ADD") {
        return nullptr;
    }
    auto result = nlohmann::json::parse(output.stdout_text, nullptr, false);
    if (result.is_discarded() || !result.is_object()) {
        throw std::runtime_error("CNI plugin " + type + " ADD printed no JSON result");
    }
    return result;
}

// The `loopback` plugin only brings lo up (ADD) or down (DEL). berthd
// brings lo up itself when it creates a pod's network namespace, and the
// namespace, lo included, is gone after the pod, so running the plugin is a
// process start for nothing (about 4 ms on ADD and 3 ms on DEL here). After
// another plugin it passes the previous result through unchanged, which is
// what skipping it does too; as the first plugin its result (lo's
// addresses) would be the pod's, so there it still runs.
bool loopback_plugin(const nlohmann::json& plugin) {
    return plugin["type"].get<std::string>() == "loopback";
}

}  // namespace

nlohmann::json load_cni_network(const std::string& dir, std::string* file_found) {
    std::vector<fs::path> candidates;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
        const auto extension = entry.path().extension();
        if (extension == ".conflist" || extension == ".conf" || extension == ".json") {
            candidates.push_back(entry.path());
        }
    }
    std::sort(candidates.begin(), candidates.end());
    for (const auto& file : candidates) {
        std::ifstream in(file);
        auto doc = nlohmann::json::parse(in, nullptr, false);
        if (doc.is_discarded() || !doc.is_object()) {
            continue;
        }
        if (file.extension() != ".conflist" && !doc.contains("plugins") && doc.contains("type")) {
            nlohmann::json list = {{"cniVersion", doc.value("cniVersion", "1.0.0")},
                                   {"name", doc.value("name", "")},
                                   {"plugins", nlohmann::json::array({doc})}};
            doc = list;
        }
        if (valid_list(doc)) {
            if (file_found != nullptr) {
                *file_found = file.string();
            }
            return doc;
        }
    }
    throw std::runtime_error("no valid CNI network configuration in " + dir);
}

nlohmann::json cni_add(const nlohmann::json& network, const CniInvocation& invocation) {
    nlohmann::json result;
    for (const auto& plugin : network["plugins"]) {
        if (loopback_plugin(plugin) && !result.is_null()) {
            continue;
        }
        result = invoke("ADD", network, plugin, invocation, result);
    }
    return result;
}

void cni_del(const nlohmann::json& network, const nlohmann::json& cached_result,
             const CniInvocation& invocation) {
    std::string first_failure;
    const auto& plugins = network["plugins"];
    for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
        if (loopback_plugin(*it)) {
            continue;
        }
        try {
            invoke("DEL", network, *it, invocation, cached_result);
        } catch (const std::exception& error) {
            if (first_failure.empty()) {
                first_failure = error.what();
            }
        }
    }
    if (!first_failure.empty()) {
        throw std::runtime_error(first_failure);
    }
}

std::vector<std::string> cni_result_ips(const nlohmann::json& result) {
    std::vector<std::string> v4, v6;
    if (result.is_object() && result.contains("ips") && result["ips"].is_array()) {
        for (const auto& entry : result["ips"]) {
            if (!entry.is_object() || !entry.contains("address")) {
                continue;
            }
            std::string address = entry["address"].get<std::string>();
            address = address.substr(0, address.find('/'));
            (address.find(':') == std::string::npos ? v4 : v6).push_back(address);
        }
    }
    v4.insert(v4.end(), v6.begin(), v6.end());
    return v4;
}

}  // namespace berth::daemon::network
