#include "sandbox/pod_init_process.hpp"

#include "berth/config/helper_binary.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "unique_fd.hpp"

namespace berth::daemon::sandbox {

namespace fs = std::filesystem;

std::string find_pod_init_binary() {
    return config::find_helper_binary("berth-pod-init");
}

std::uint64_t process_start_time(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) {
        return 0;
    }
    // The command name (field 2) may hold spaces; fields count from its ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) {
        return 0;
    }
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    std::string state;
    fields >> state;
    if (state == "Z" || state == "X") {
        return 0;  // ended, only not reaped yet
    }
    // Fields 4..21 precede the start time (field 22).
    for (int index = 4; index <= 21; ++index) {
        fields >> field;
    }
    std::uint64_t start = 0;
    fields >> start;
    return start;
}

bool pod_init_running(const PodInit& init) {
    return init.pid > 0 && init.start_time != 0 && process_start_time(init.pid) == init.start_time;
}

PodInit start_pod_init(const std::string& binary, const Sandbox& record) {
    // Opened before fork: between fork and exec only system calls are made.
    std::vector<std::pair<UniqueFd, int>> namespaces;
    // The user namespace first: joining it gives the capabilities needed to
    // join the namespaces it owns and to make a PID namespace owned by it.
    for (const auto& [path, type] :
         {std::pair{record.userns_path, CLONE_NEWUSER}, std::pair{record.netns_path, CLONE_NEWNET},
          std::pair{record.ipcns_path, CLONE_NEWIPC}, std::pair{record.utsns_path, CLONE_NEWUTS}}) {
        if (path.empty()) {
            continue;
        }
        UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            throw std::runtime_error("open " + path + ": " + std::strerror(errno));
        }
        namespaces.emplace_back(std::move(fd), type);
    }
    int report[2];  // the init's pid, or an errno, from the intermediate child
    if (pipe2(report, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    UniqueFd report_read(report[0]), report_write(report[1]);
    const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    UniqueFd null_guard(null_fd);
    char* argv[] = {const_cast<char*>(binary.c_str()), nullptr};
    char* envp[] = {nullptr};

    const pid_t intermediate = fork();
    if (intermediate < 0) {
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (intermediate == 0) {
        // Joins the pod, then makes the PID namespace whose first process
        // (the init, forked next) becomes its PID 1.
        int failure = 0;
        for (const auto& [fd, type] : namespaces) {
            if (setns(fd.get(), type) != 0) {
                failure = errno;
            }
        }
        if (failure == 0 && unshare(CLONE_NEWPID) != 0) {
            failure = errno;
        }
        pid_t init = -1;
        if (failure == 0) {
            init = fork();
            if (init == 0) {
                setsid();
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, nullptr);
                dup2(null_fd, STDIN_FILENO);
                dup2(null_fd, STDOUT_FILENO);
                dup2(null_fd, STDERR_FILENO);
                execve(binary.c_str(), argv, envp);
                const int exec_error = -errno;
                if (write(report_write.get(), &exec_error, sizeof(exec_error)) < 0) {
                }
                _exit(127);
            }
            if (init < 0) {
                failure = errno;
            }
        }
        const int message = failure != 0 ? -failure : init;
        if (write(report_write.get(), &message, sizeof(message)) < 0) {
        }
        _exit(failure != 0 ? 1 : 0);
    }
    report_write.reset();
    int status = 0;
    while (waitpid(intermediate, &status, 0) < 0 && errno == EINTR) {
    }
    int message = 0;
    if (read(report_read.get(), &message, sizeof(message)) != sizeof(message)) {
        throw std::runtime_error("starting berth-pod-init: no report from the helper process");
    }
    if (message < 0) {
        throw std::runtime_error(std::string("starting berth-pod-init: ") +
                                 std::strerror(-message));
    }
    PodInit init;
    init.pid = message;
    // A second report is the init's failed exec; EOF means exec succeeded.
    int exec_error = 0;
    if (read(report_read.get(), &exec_error, sizeof(exec_error)) == sizeof(exec_error)) {
        throw std::runtime_error("exec " + binary + ": " + std::strerror(-exec_error));
    }
    init.start_time = process_start_time(init.pid);
    if (init.start_time == 0) {
        throw std::runtime_error("berth-pod-init exited at once");
    }
    return init;
}

namespace {

// Waits up to `timeout` for the process behind `pidfd` to end.
bool wait_for_end(const UniqueFd& pidfd, std::chrono::milliseconds timeout) {
    pollfd ended{pidfd.get(), POLLIN, 0};
    int ready = 0;
    while ((ready = poll(&ended, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    return ready > 0;
}

}  // namespace

void stop_pod_init(const PodInit& init) {
    if (!pod_init_running(init)) {
        return;
    }
    // A pidfd opened while the start time still matches is the init's own,
    // not that of a later process given its pid; it becomes readable the
    // moment the init ends, which StopPodSandbox would otherwise learn by
    // polling /proc every few milliseconds.
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, init.pid, 0)));
    if (pidfd && pod_init_running(init)) {
        syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0);
        if (!wait_for_end(pidfd, std::chrono::seconds(2))) {
            syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
            wait_for_end(pidfd, std::chrono::seconds(2));
        }
        return;
    }
    kill(init.pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (pod_init_running(init)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            kill(init.pid, SIGKILL);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace berth::daemon::sandbox
