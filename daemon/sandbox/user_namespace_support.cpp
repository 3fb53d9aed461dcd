#include "sandbox/user_namespace_support.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <spdlog/spdlog.h>

#include "unique_fd.hpp"

namespace berth::daemon::sandbox {

namespace {

std::string errno_text(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

// A child in a new user namespace with one mapped id, waiting on a pipe: its
// namespace is what the idmapped mount probe maps to.
std::string probe(const std::string& storage_root) {
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) != 0) {
        return errno_text("pipe");
    }
    UniqueFd gate_read(gate[0]), gate_write(gate[1]);
    const pid_t pid = fork();
    if (pid < 0) {
        return errno_text("fork");
    }
    if (pid == 0) {
        if (unshare(CLONE_NEWUSER) != 0) {
            _exit(1);
        }
        gate_write.reset();
        char byte;
        while (read(gate_read.get(), &byte, 1) > 0) {
        }
        _exit(0);
    }
    gate_read.reset();
    const auto finish = [&](const std::string& problem) {
        gate_write.reset();
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return problem;
    };
    const std::string proc = "/proc/" + std::to_string(pid);
    // Wait for the unshare: the child's user namespace differs from ours.
    for (int attempt = 0; attempt < 1000; ++attempt) {
        std::error_code ignored;
        if (std::filesystem::read_symlink(proc + "/ns/user", ignored) !=
            std::filesystem::read_symlink("/proc/self/ns/user", ignored)) {
            break;
        }
        usleep(1000);
    }
    for (const char* map : {"/uid_map", "/gid_map"}) {
        UniqueFd fd(open((proc + map).c_str(), O_WRONLY | O_CLOEXEC));
        const char line[] = "0 65534 1\n";
        if (!fd || write(fd.get(), line, sizeof(line) - 1) != sizeof(line) - 1) {
            return finish(errno_text("creating a user namespace (writing " + proc + map + ")"));
        }
    }
    UniqueFd userns(open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
    if (!userns) {
        return finish(errno_text("opening a new user namespace"));
    }
    // The storage root, or the nearest directory above it that exists yet:
    // the probe asks about a filesystem and creates nothing.
    std::filesystem::path probed = storage_root;
    std::error_code missing;
    while (!std::filesystem::exists(probed, missing) && probed.has_relative_path()) {
        probed = probed.parent_path();
    }
    UniqueFd tree(open_tree(AT_FDCWD, probed.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!tree) {
        return finish(errno_text("open_tree " + probed.string()));
    }
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<std::uint64_t>(userns.get());
    if (mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) {
        return finish(errno_text("the filesystem of " + storage_root +
                                 " cannot be idmapped (mount_setattr MOUNT_ATTR_IDMAP)"));
    }
    // The clone was never attached: closing the fd unmounts it.
    return finish("");
}

}  // namespace

const std::string& host_user_namespace_problem(const std::string& storage_root) {
    static std::once_flag once;
    static std::string problem;
    std::call_once(once, [&] {
        problem = probe(storage_root);
        if (problem.empty()) {
            spdlog::info("user namespaces for pods: supported ({} can be idmapped)", storage_root);
        } else {
            spdlog::warn("user namespaces for pods: not supported here: {}", problem);
        }
    });
    return problem;
}

std::string user_namespace_problem(oci::RuntimeImpl* runtime, const std::string& storage_root) {
    if (runtime == nullptr) {
        return "the runtime handler cannot be used";
    }
    if (!runtime->features().user_namespaces) {
        return "the runtime handler cannot join a pod's user namespace";
    }
    return host_user_namespace_problem(storage_root);
}

}  // namespace berth::daemon::sandbox
