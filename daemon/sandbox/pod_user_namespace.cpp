#include "sandbox/pod_user_namespace.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "sandbox/sandbox_namespaces.hpp"
#include "unique_fd.hpp"

namespace berth::daemon::sandbox {

namespace {

[[noreturn]] void fail(int error, const std::string& what) {
    throw std::system_error(error, std::generic_category(), what);
}

// The child reports each step as one int: 0 for done, an errno otherwise.
enum ChildStep : int { kUserNamespace = 1, kOwnedNamespaces = 2 };

// Everything between fork and _exit is a plain system call: the parent has
// threads, so the child may not allocate or take locks.
[[noreturn]] void child_main(int to_parent, int from_parent, const char* hostname,
                             std::size_t hostname_size) {
    const auto report = [to_parent](int step, int error) {
        const int message[2] = {step, error};
        if (write(to_parent, message, sizeof(message)) != sizeof(message)) {
            _exit(1);
        }
        if (error != 0) {
            _exit(1);
        }
    };
    report(kUserNamespace, unshare(CLONE_NEWUSER) == 0 ? 0 : errno);
    char go = 0;
    if (read(from_parent, &go, 1) != 1) {
        _exit(1);  // the parent gave up
    }
    // Created by a process inside the new user namespace, so owned by it: the
    // pod's root then has capabilities over them.
    int error = unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) == 0 ? 0 : errno;
    if (error == 0 && hostname_size > 0 && sethostname(hostname, hostname_size) != 0) {
        error = errno;
    }
    if (error == 0) {
        const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ifreq request{};
        std::memcpy(request.ifr_name, "lo", 3);
        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
            error = errno;
        } else {
            request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
            if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) {
                error = errno;
            }
        }
    }
    report(kOwnedNamespaces, error);
    // Lives until the parent has pinned everything and closes its end.
    while (read(from_parent, &go, 1) > 0) {
    }
    _exit(0);
}

// The helper child: killed and reaped whatever happens.
class Helper {
public:
    explicit Helper(pid_t pid) : pid_(pid) {}
    Helper(const Helper&) = delete;
    Helper& operator=(const Helper&) = delete;
    ~Helper() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            reap();
        }
    }
    pid_t pid() const { return pid_; }
    void reap() {
        while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
        pid_ = 0;
    }

private:
    pid_t pid_;
};

void expect_step(int from_child, int step, const char* what) {
    int message[2] = {0, 0};
    const ssize_t got = read(from_child, message, sizeof(message));
    if (got != sizeof(message) || message[0] != step) {
        fail(EIO,
             std::string("creating the pod's namespaces: the helper process ended before ") + what);
    }
    if (message[1] != 0) {
        fail(message[1], what);
    }
}

void write_proc_file(const std::string& path, const std::string& content) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd ||
        write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
        fail(errno, "writing " + path + " (" + content.substr(0, content.size() - 1) + ")");
    }
}

// Pins /proc/<pid>/ns/<name> at `path`; the file is created first.
void pin(pid_t pid, const char* name, const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    {
        UniqueFd file(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
        if (!file) {
            fail(errno, "create " + path);
        }
    }
    const std::string source = "/proc/" + std::to_string(pid) + "/ns/" + name;
    if (mount(source.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        const int error = errno;
        unlink(path.c_str());
        fail(error, "pin " + source + " at " + path);
    }
}

}  // namespace

std::string pod_user_namespace_path(const std::string& runroot, const std::string& id) {
    return runroot + "/userns/" + id;
}

void pin_pod_namespaces_in_user_namespace(const UserNamespaceMapping& mapping,
                                          const PodNamespacePins& pins,
                                          const std::string& hostname) {
    int to_parent[2];
    int to_child[2];
    if (pipe2(to_parent, O_CLOEXEC) != 0) {
        fail(errno, "pipe");
    }
    UniqueFd parent_read(to_parent[0]), child_write(to_parent[1]);
    if (pipe2(to_child, O_CLOEXEC) != 0) {
        fail(errno, "pipe");
    }
    UniqueFd child_read(to_child[0]), parent_write(to_child[1]);

    const pid_t pid = fork();
    if (pid < 0) {
        fail(errno, "fork");
    }
    if (pid == 0) {
        // The parent's ends: the child must see EOF once the parent closes
        // its write end, so it may not hold a copy of it.
        close(parent_write.get());
        close(parent_read.get());
        child_main(child_write.get(), child_read.get(), hostname.c_str(), hostname.size());
    }
    Helper helper(pid);
    child_write.reset();
    child_read.reset();

    expect_step(parent_read.get(), kUserNamespace, "unshare the user namespace");
    const std::string proc = "/proc/" + std::to_string(pid);
    // No setgroups=deny: root of the parent namespace may write gid_map
    // without it, and the pod's root needs setgroups for its users.
    write_proc_file(proc + "/uid_map", id_map_line(mapping.uids));
    write_proc_file(proc + "/gid_map", id_map_line(mapping.gids));
    if (write(parent_write.get(), "g", 1) != 1) {
        fail(errno, "resuming the namespace helper");
    }
    expect_step(parent_read.get(), kOwnedNamespaces,
                "creating network, IPC and UTS namespaces in the pod's user namespace");

    std::vector<std::string> pinned;
    try {
        for (const auto& [name, path] : {std::pair{"user", pins.user}, std::pair{"net", pins.net},
                                         std::pair{"ipc", pins.ipc}, std::pair{"uts", pins.uts}}) {
            pin(pid, name, path);
            pinned.push_back(path);
        }
    } catch (...) {
        for (const auto& path : pinned) {
            try {
                unpin_pod_namespace(path);
            } catch (...) {
            }
        }
        throw;
    }
    parent_write.reset();  // the child sees EOF and exits
    helper.reap();
}

bool user_namespace_pinned(const std::string& path) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd && ioctl(fd.get(), NS_GET_NSTYPE) == CLONE_NEWUSER;
}

}  // namespace berth::daemon::sandbox
