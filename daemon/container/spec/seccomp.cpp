#include "container/spec/seccomp.hpp"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <spdlog/spdlog.h>

#include "container/spec/oci_spec.hpp"
#include "quoted_value.hpp"
#include "request_paths.hpp"
#include "unique_fd.hpp"

namespace berth::daemon::container {

namespace {

namespace v1 = runtime::v1;
using nlohmann::json;

// Docker's default allow list (moby profiles/seccomp/default.json), the part
// granted without capabilities, on every architecture; names of other
// architectures are filtered out below.
// clang-format off
constexpr const char* kAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "chroot", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
    "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
    "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents",
    "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
    "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
    "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
    "ipc", "kcmp", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
    "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr",
    "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier", "memfd_create",
    "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
    "mlockall", "mmap", "mmap2", "modify_ldt", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
    "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
    "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "process_vm_readv", "process_vm_writev", "pselect6",
    "pselect6_time64", "ptrace", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
    "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socket", "socketcall", "socketpair",
    "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice",
    "wait4", "waitid", "waitpid", "write", "writev",
};
// clang-format on

// The CLONE_NEW* flags (0x7E020000): clone may create threads and processes
// but no namespaces, which is what unshare is refused for.
constexpr std::uint64_t kCloneNamespaceFlags = 2114060288;

// OCI architecture names the filter covers: the native one and those whose
// binaries it also runs (i386 and x32 on x86_64, arm on arm64), as Docker.
std::vector<std::string> filter_architectures() {
    switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64:
        return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    case SCMP_ARCH_AARCH64:
        return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
    default:
        return {};
    }
}

std::uint32_t arch_token(const std::string& name) {
    if (name == "SCMP_ARCH_X86_64")
        return SCMP_ARCH_X86_64;
    if (name == "SCMP_ARCH_X86")
        return SCMP_ARCH_X86;
    if (name == "SCMP_ARCH_X32")
        return SCMP_ARCH_X32;
    if (name == "SCMP_ARCH_AARCH64")
        return SCMP_ARCH_AARCH64;
    if (name == "SCMP_ARCH_ARM")
        return SCMP_ARCH_ARM;
    return SCMP_ARCH_NATIVE;
}

bool known_syscall(const std::string& name, const std::vector<std::string>& architectures) {
    if (architectures.empty()) {
        return seccomp_syscall_resolve_name(name.c_str()) >= 0;
    }
    return std::any_of(architectures.begin(), architectures.end(), [&](const auto& arch) {
        return seccomp_syscall_resolve_name_arch(arch_token(arch), name.c_str()) >= 0;
    });
}

// Docker's capability-conditional rules: what a capability grants, its
// syscalls are allowed too, so that adding CAP_SYS_ADMIN (say) to a
// container under RuntimeDefault lets it use sethostname, mount or unshare.
struct CapabilityRule {
    const char* capability;
    std::vector<const char*> syscalls;
};
const std::vector<CapabilityRule>& capability_rules() {
    static const std::vector<CapabilityRule> rules = {
        {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
        {"CAP_SYS_ADMIN",
         {"bpf",           "clone",         "clone3",      "fanotify_init",   "fsconfig",
          "fsmount",       "fsopen",        "fspick",      "lookup_dcookie",  "mount",
          "mount_setattr", "move_mount",    "open_tree",   "perf_event_open", "quotactl",
          "quotactl_fd",   "setdomainname", "sethostname", "setns",           "syslog",
          "umount",        "umount2",       "unshare"}},
        {"CAP_SYS_BOOT", {"reboot"}},
        {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
        {"CAP_SYS_PACCT", {"acct"}},
        {"CAP_SYS_PTRACE",
         {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
          "ptrace"}},
        {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
        {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
        {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
        {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
        {"CAP_SYSLOG", {"syslog"}},
        {"CAP_BPF", {"bpf"}},
        {"CAP_PERFMON", {"perf_event_open"}},
    };
    return rules;
}

template <typename Names>
json known_names(const Names& names, const std::vector<std::string>& architectures) {
    json known = json::array();
    for (const char* name : names) {
        if (known_syscall(name, architectures)) {
            known.push_back(name);
        } else {
            spdlog::debug("seccomp: leaving {} out of the default profile: unknown here", name);
        }
    }
    return known;
}

// The part that does not depend on capabilities, built once.
const json& base_profile() {
    static const json profile = [] {
        const auto architectures = filter_architectures();
        json syscalls = json::array();
        syscalls.push_back(
            {{"names", known_names(kAllowed, architectures)}, {"action", "SCMP_ACT_ALLOW"}});
        // Only the personalities glibc and the emulators ask for: others
        // (e.g. READ_IMPLIES_EXEC) weaken ASLR and NX.
        for (const std::uint64_t persona :
             {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL}) {
            syscalls.push_back(
                {{"names", {"personality"}},
                 {"action", "SCMP_ACT_ALLOW"},
                 {"args", {{{"index", 0}, {"value", persona}, {"op", "SCMP_CMP_EQ"}}}}});
        }
        json base = {
            {"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", 1}, {"syscalls", syscalls}};
        if (!architectures.empty()) {
            base["architectures"] = architectures;
        }
        return base;
    }();
    return profile;
}

bool has_capability(const std::vector<std::string>& capabilities, const char* capability) {
    return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

std::string go_architecture() {
    switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64:
        return "amd64";
    case SCMP_ARCH_AARCH64:
        return "arm64";
    default:
        return "";
    }
}

bool contains(const json& list, const std::string& value) {
    return list.is_array() && std::find(list.begin(), list.end(), value) != list.end();
}

// Whether a Docker profile rule applies here: includes name capabilities
// that must all be granted and architectures one of which must be this one;
// excludes the opposite. Kernel version conditions are taken as met.
bool rule_applies(const json& rule, const std::vector<std::string>& capabilities) {
    const auto has_cap = [&](const json& cap) {
        return cap.is_string() && std::find(capabilities.begin(), capabilities.end(),
                                            cap.get<std::string>()) != capabilities.end();
    };
    if (const auto includes = rule.find("includes"); includes != rule.end()) {
        if (const auto caps = includes->find("caps"); caps != includes->end() && caps->is_array()) {
            if (!std::all_of(caps->begin(), caps->end(), has_cap)) {
                return false;
            }
        }
        if (const auto arches = includes->find("arches"); arches != includes->end() &&
                                                          arches->is_array() && !arches->empty() &&
                                                          !contains(*arches, go_architecture())) {
            return false;
        }
    }
    if (const auto excludes = rule.find("excludes"); excludes != rule.end()) {
        if (const auto caps = excludes->find("caps"); caps != excludes->end() && caps->is_array()) {
            if (std::any_of(caps->begin(), caps->end(), has_cap)) {
                return false;
            }
        }
        if (const auto arches = excludes->find("arches");
            arches != excludes->end() && contains(*arches, go_architecture())) {
            return false;
        }
    }
    return true;
}

// A profile file as the OCI section: OCI files pass through; Docker's
// extensions (archMap, "name", includes/excludes, comments) are resolved.
json to_oci_section(const json& profile, const std::vector<std::string>& capabilities) {
    json section = {{"defaultAction", profile.at("defaultAction")}};
    for (const char* key : {"defaultErrnoRet", "flags", "listenerPath", "listenerMetadata"}) {
        if (profile.contains(key)) {
            section[key] = profile[key];
        }
    }
    if (profile.contains("architectures")) {
        section["architectures"] = profile["architectures"];
    } else if (const auto map = profile.find("archMap"); map != profile.end() && map->is_array()) {
        const auto native = filter_architectures();
        for (const auto& entry : *map) {
            if (!native.empty() && entry.value("architecture", "") == native.front()) {
                json architectures = {native.front()};
                for (const auto& sub : entry.value("subArchitectures", json::array())) {
                    architectures.push_back(sub);
                }
                section["architectures"] = architectures;
            }
        }
    }
    json syscalls = json::array();
    for (const auto& rule : profile.value("syscalls", json::array())) {
        if (!rule.is_object() || !rule_applies(rule, capabilities)) {
            continue;
        }
        json names = rule.value("names", json::array());
        if (rule.contains("name")) {
            names.push_back(rule["name"]);
        }
        json converted = {{"names", names}, {"action", rule.at("action")}};
        for (const char* key : {"errnoRet", "args"}) {
            if (rule.contains(key) && !rule[key].is_null()) {
                converted[key] = rule[key];
            }
        }
        syscalls.push_back(converted);
    }
    if (!syscalls.empty()) {
        section["syscalls"] = syscalls;
    }
    return section;
}

// A profile is a few dozen KiB; anything much larger is not one, and berthd
// would hold it in memory while parsing.
constexpr std::size_t kMaxProfileBytes = 1 << 20;

// The profile file's text. Read, not written, so a symbolic link on the way
// is harmless; but only a regular file is read (a fifo would block the RPC,
// a device such as /dev/zero would never end) and only up to the limit.
std::string read_profile(const std::string& path, const std::string& field) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        throw SpecError(field + ": cannot read seccomp profile " + quoted_value(path) +
                        ": " + std::strerror(errno));
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        throw SpecError(field + ": seccomp profile " + quoted_value(path) +
                        " is not a regular file");
    }
    if (static_cast<std::uint64_t>(info.st_size) > kMaxProfileBytes) {
        throw SpecError(field + ": seccomp profile " + quoted_value(path) +
                        " is larger than " + std::to_string(kMaxProfileBytes) + " bytes");
    }
    std::string text;
    char buffer[16384];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            throw SpecError(field + ": cannot read seccomp profile " + quoted_value(path) +
                            ": " + std::strerror(errno));
        }
        if (got == 0)
            return text;
        text.append(buffer, static_cast<std::size_t>(got));
        if (text.size() > kMaxProfileBytes) {
            throw SpecError(field + ": seccomp profile " + quoted_value(path) +
                            " is larger than " + std::to_string(kMaxProfileBytes) + " bytes");
        }
    }
}

json load_localhost_profile(const std::string& path, const std::string& field,
                            const std::vector<std::string>& capabilities) {
    if (const auto problem = request_paths::absolute_path_problem(path); !problem.empty()) {
        throw SpecError(request_paths::describe(field, path, problem));
    }
    const std::string text = read_profile(path, field);
    try {
        const json profile = json::parse(text);
        if (!profile.is_object() || !profile.contains("defaultAction") ||
            !profile["defaultAction"].is_string()) {
            throw SpecError(field + ": " + quoted_value(path) +
                            " is not a seccomp profile (no defaultAction)");
        }
        return to_oci_section(profile, capabilities);
    } catch (const json::exception& error) {
        throw SpecError(field + ": seccomp profile " + quoted_value(path) +
                        " is not valid: " + error.what());
    }
}

}  // namespace

json default_seccomp_profile(const std::vector<std::string>& capabilities) {
    const auto architectures = filter_architectures();
    json profile = base_profile();
    json& syscalls = profile["syscalls"];
    if (!has_capability(capabilities, "CAP_SYS_ADMIN")) {
        syscalls.push_back({{"names", {"clone"}},
                            {"action", "SCMP_ACT_ALLOW"},
                            {"args",
                             {{{"index", 0},
                               {"value", kCloneNamespaceFlags},
                               {"valueTwo", 0},
                               {"op", "SCMP_CMP_MASKED_EQ"}}}}});
        // clone3 passes its flags in memory, out of seccomp's reach: ENOSYS
        // makes glibc fall back to clone, which is checked above.
        if (known_syscall("clone3", architectures)) {
            syscalls.push_back(
                {{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}});
        }
    }
    for (const auto& rule : capability_rules()) {
        if (has_capability(capabilities, rule.capability)) {
            json names = known_names(rule.syscalls, architectures);
            if (!names.empty()) {
                syscalls.push_back({{"names", std::move(names)}, {"action", "SCMP_ACT_ALLOW"}});
            }
        }
    }
    return profile;
}

json container_seccomp(const v1::LinuxContainerSecurityContext& context, bool privileged,
                       const std::vector<std::string>& capabilities, bool default_when_empty) {
    if (privileged) {
        // A privileged container may do anything the node can: a profile it
        // names is ignored, as by CRI-O, containerd and critest's contract.
        return nullptr;
    }
    if (context.has_seccomp()) {
        const auto& seccomp = context.seccomp();
        switch (seccomp.profile_type()) {
        case v1::SecurityProfile::RuntimeDefault:
            return default_seccomp_profile(capabilities);
        case v1::SecurityProfile::Localhost:
            return load_localhost_profile(seccomp.localhost_ref(),
                                          "linux.security_context.seccomp.localhost_ref",
                                          capabilities);
        default:
            return nullptr;
        }
    }
    // kubelet still sends the deprecated field to runtimes that predate
    // `seccomp`, and older clients (crictl) only know it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const std::string& path = context.seccomp_profile_path();
#pragma GCC diagnostic pop
    const std::string field = "linux.security_context.seccomp_profile_path";
    if (path.empty()) {
        return default_when_empty ? default_seccomp_profile(capabilities) : json(nullptr);
    }
    if (path == "runtime/default" || path == "docker/default") {
        return default_seccomp_profile(capabilities);
    }
    if (path == "unconfined") {
        return nullptr;
    }
    const std::string localhost = "localhost/";
    if (path.rfind(localhost, 0) == 0) {
        return load_localhost_profile(path.substr(localhost.size()), field, capabilities);
    }
    throw SpecError(field + ": unknown seccomp profile \"" + path + "\"");
}

}  // namespace berth::daemon::container
