#include "sandbox/sandbox_namespaces.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <system_error>
#include <thread>

#include "sandbox/sysctls.hpp"
#include "unique_fd.hpp"

namespace berth::daemon::sandbox {

namespace {

int clone_flag(PodNamespace kind) {
    switch (kind) {
    case PodNamespace::Net:
        return CLONE_NEWNET;
    case PodNamespace::Ipc:
        return CLONE_NEWIPC;
    case PodNamespace::Pid:
        return CLONE_NEWPID;
    case PodNamespace::Uts:
        break;
    }
    return CLONE_NEWUTS;
}

const char* proc_name(PodNamespace kind) {
    switch (kind) {
    case PodNamespace::Net:
        return "net";
    case PodNamespace::Ipc:
        return "ipc";
    case PodNamespace::Pid:
        return "pid";
    case PodNamespace::Uts:
        break;
    }
    return "uts";
}

[[noreturn]] void fail(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// Namespace changes (unshare, setns) touch only the calling thread, so each
// is done on a short-lived thread of its own and the daemon's threads never
// leave the host's namespaces.
void on_fresh_thread(const std::function<void()>& body) {
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            body();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

// A new network namespace has lo down; pods expect it up.
void bring_loopback_up() {
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        fail("socket in the new network namespace");
    }
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(fd.get(), SIOCGIFFLAGS, &request) != 0) {
        fail("reading the flags of lo");
    }
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (ioctl(fd.get(), SIOCSIFFLAGS, &request) != 0) {
        fail("bringing lo up");
    }
}

void write_sysctl(const std::string& name, const std::string& value) {
    const std::string path = sysctl_path(name);
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) {
        fail("sysctl " + name + " (" + path + ")");
    }
    if (write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
        fail("sysctl " + name + " = " + value);
    }
}

// Runs `body` on a thread that has joined the namespace pinned at `path`.
void inside(const std::string& path, PodNamespace kind, const std::function<void()>& body) {
    on_fresh_thread([&] {
        UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            fail("open " + path);
        }
        if (setns(fd.get(), clone_flag(kind)) != 0) {
            fail(std::string("joining the pod's ") + proc_name(kind) + " namespace");
        }
        body();
    });
}

}  // namespace

namespace {

std::string create_pin_file(PodNamespace kind, const std::string& runroot, const std::string& id) {
    const std::string path = pod_namespace_path(kind, runroot, id);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    UniqueFd file(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!file) {
        fail("create " + path);
    }
    return path;
}

}  // namespace

std::string pod_namespace_path(PodNamespace kind, const std::string& runroot,
                               const std::string& id) {
    return runroot + "/" + proc_name(kind) + "ns/" + id;
}

std::string pin_process_namespace(PodNamespace kind, pid_t pid, const std::string& runroot,
                                  const std::string& id) {
    const std::string path = create_pin_file(kind, runroot, id);
    const std::string source = "/proc/" + std::to_string(pid) + "/ns/" + proc_name(kind);
    if (mount(source.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        const int error = errno;
        unlink(path.c_str());
        errno = error;
        fail("pin " + source + " at " + path);
    }
    return path;
}

std::string pin_pod_namespace(PodNamespace kind, const std::string& runroot, const std::string& id,
                              const std::string& hostname) {
    const std::string path = create_pin_file(kind, runroot, id);
    try {
        on_fresh_thread([&] {
            if (unshare(clone_flag(kind)) != 0) {
                fail(std::string("unshare ") + proc_name(kind) + " namespace");
            }
            if (kind == PodNamespace::Uts && !hostname.empty() &&
                sethostname(hostname.c_str(), hostname.size()) != 0) {
                fail("sethostname " + hostname);
            }
            if (kind == PodNamespace::Net) {
                bring_loopback_up();
            }
            const std::string self = std::string("/proc/thread-self/ns/") + proc_name(kind);
            if (mount(self.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
                fail("pin " + self + " at " + path);
            }
        });
    } catch (...) {
        unlink(path.c_str());
        throw;
    }
    return path;
}

void unpin_pod_namespace(const std::string& path) {
    if (path.empty()) {
        return;
    }
    // EINVAL: not a mount point (already unpinned); ENOENT: gone.
    if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
        fail("unpin " + path);
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        fail("remove " + path);
    }
}

bool pod_namespace_pinned(const std::string& path, PodNamespace kind) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd && ioctl(fd.get(), NS_GET_NSTYPE) == clone_flag(kind);
}

void apply_sysctls(const Sandbox& record) {
    for (const auto& [name, value] : record.config.linux().sysctls()) {
        switch (classify_sysctl(name)) {
        case SysctlNamespace::Net:
            inside(record.netns_path, PodNamespace::Net, [&] { write_sysctl(name, value); });
            break;
        case SysctlNamespace::Ipc:
            inside(record.ipcns_path, PodNamespace::Ipc, [&] { write_sysctl(name, value); });
            break;
        case SysctlNamespace::Uts:
            inside(record.utsns_path, PodNamespace::Uts, [&] { write_sysctl(name, value); });
            break;
        }
    }
}

}  // namespace berth::daemon::sandbox
