#include "berth/oci/runtime_probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "command.hpp"

namespace berth::oci {

namespace fs = std::filesystem;

namespace {

constexpr auto kCommandTimeout = std::chrono::seconds(10);

// The probe's directory, with a tmpfs mounted on the submount the rro check
// looks at; both are gone when it goes.
class ProbeDirectory {
public:
    explicit ProbeDirectory(fs::path path) : path_(std::move(path)) {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
        for (const char* dir : {"rootfs/dev", "rootfs/proc", "rootfs/rro", "volume/sub", "state"}) {
            fs::create_directories(path_ / dir);
        }
        std::ofstream(path_ / "rootfs/init").flush();
        const std::string sub = (path_ / "volume/sub").string();
        if (mount("tmpfs", sub.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") != 0) {
            throw std::system_error(errno, std::generic_category(), "mount tmpfs on " + sub);
        }
        mounted_ = sub;
    }
    ~ProbeDirectory() {
        if (!mounted_.empty()) {
            umount2(mounted_.c_str(), MNT_DETACH);
        }
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    ProbeDirectory(const ProbeDirectory&) = delete;
    ProbeDirectory& operator=(const ProbeDirectory&) = delete;

    const fs::path& path() const { return path_; }

private:
    fs::path path_;
    std::string mounted_;
};

nlohmann::json probe_spec(const fs::path& bundle, const std::string& init_binary,
                          const std::string& cgroup) {
    using nlohmann::json;
    return json{
        {"ociVersion", "1.0.2"},
        {"process",
         {{"user", {{"uid", 0}, {"gid", 0}}},
          {"args", json::array({"/init"})},
          {"cwd", "/"},
          {"env", json::array({"PATH=/"})}}},
        {"root", {{"path", (bundle / "rootfs").string()}}},
        {"mounts", json::array({
                       {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                       {{"destination", "/init"},
                        {"type", "bind"},
                        {"source", init_binary},
                        {"options", json::array({"bind", "ro"})}},
                       {{"destination", "/rro"},
                        {"type", "bind"},
                        {"source", (bundle / "volume").string()},
                        {"options", json::array({"rbind", "ro", "rro", "rprivate"})}},
                   })},
        {"linux",
         {{"namespaces", json::array({{{"type", "mount"}}, {{"type", "pid"}}, {{"type", "ipc"}}})},
          {"cgroupsPath", cgroup},
          {"resources", {{"pids", {{"limit", 16}}}}}}},
    };
}

// Whether the mount at `mount_point` in the process's mount namespace has
// the per-mount flag `ro` (mountinfo's sixth field).
bool mounted_read_only(pid_t pid, const std::string& mount_point) {
    std::ifstream mountinfo("/proc/" + std::to_string(pid) + "/mountinfo");
    std::string line;
    while (std::getline(mountinfo, line)) {
        std::istringstream fields(line);
        std::string id, parent, device, root, point, options;
        fields >> id >> parent >> device >> root >> point >> options;
        if (point == mount_point) {
            return options == "ro" || options.rfind("ro,", 0) == 0;
        }
    }
    return false;
}

struct ProbeCommandResult {
    int exit_code = -1;
    bool timed_out = false;
    std::string err;
};

// Like run_command, but with stdout on /dev/null and stderr in a file: the
// container's init inherits the runtime's stdio and stays parked after
// `create`, so pipes would never see their end.
ProbeCommandResult run_probe_command(const std::vector<std::string>& argv,
                                     const fs::path& error_file) {
    ProbeCommandResult result;
    const int err = ::open(error_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err < 0) {
        throw std::system_error(errno, std::generic_category(), "open " + error_file.string());
    }
    pid_t pid = -1;
    try {
        pid = spawn_process(argv, SpawnStdio{-1, -1, err, false});
    } catch (...) {
        ::close(err);
        throw;
    }
    ::close(err);
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
        pollfd exited{pidfd, POLLIN, 0};
        const auto timeout_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(kCommandTimeout).count();
        if (::poll(&exited, 1, static_cast<int>(timeout_ms)) == 0) {
            result.timed_out = true;
            ::kill(pid, SIGKILL);
        }
        ::close(pidfd);
    }
    result.exit_code = wait_for_exit(pid);
    std::ifstream in(error_file);
    result.err.assign(std::istreambuf_iterator<char>(in), {});
    return result;
}

std::string first_line(const std::string& text) {
    const auto end = text.find('\n');
    return text.substr(0, end == std::string::npos ? text.size() : end);
}

}  // namespace

RuntimeProbe probe_runtime(const std::string& runtime_path, const std::string& work_directory,
                           const std::string& init_binary) {
    RuntimeProbe probe;
    try {
        ProbeDirectory bundle(work_directory);
        const std::string id = "berth-probe-" + std::to_string(getpid());
        const auto& dir = bundle.path();
        std::ofstream(dir / "config.json") << probe_spec(dir, init_binary, "/" + id).dump();
        const std::string state = (dir / "state").string();
        const std::string pid_file = (dir / "pid").string();
        const auto created = run_probe_command({runtime_path, "--root", state, "create", "--bundle",
                                                dir.string(), "--pid-file", pid_file, id},
                                               dir / "create.err");
        if (created.exit_code != 0 || created.timed_out) {
            probe.why = created.timed_out ? "`create` timed out" : first_line(created.err);
            if (probe.why.empty())
                probe.why = "`create` exited with " + std::to_string(created.exit_code);
        } else {
            probe.usable = true;
            pid_t pid = 0;
            std::ifstream(pid_file) >> pid;
            probe.recursive_read_only = pid > 0 && mounted_read_only(pid, "/rro/sub");
        }
        // Also after a failed create: the runtime may have left its state.
        run_probe_command({runtime_path, "--root", state, "delete", "--force", id},
                          dir / "delete.err");
    } catch (const std::exception& error) {
        probe.usable = false;
        probe.why = error.what();
    }
    return probe;
}

RuntimeProbe probe_runtime_once(const std::string& runtime_path, const std::string& work_directory,
                                const std::string& init_binary) {
    static std::mutex mutex;
    static std::map<std::string, RuntimeProbe> probed;
    std::lock_guard lock(mutex);
    auto found = probed.find(runtime_path);
    if (found == probed.end()) {
        found =
            probed.emplace(runtime_path, probe_runtime(runtime_path, work_directory, init_binary))
                .first;
    }
    return found->second;
}

}  // namespace berth::oci
