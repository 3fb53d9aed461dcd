#include "vm/fifo_keeper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <thread>

#include "berth/oci/runtime_error.hpp"
#include "berth/stream/owned_fd.hpp"
#include "command.hpp"

namespace berth::oci::vm {

namespace {

constexpr const char* kKeeperFlag = "--keep-fifos-of";

stream::OwnedFd open_read_end(const std::string& path) {
    if (path.empty())
        return {};
    stream::OwnedFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd)
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "opening " + path + " for its keeper: " + std::strerror(errno));
    return fd;
}

bool is_keeper_of(pid_t pid, const std::string& id) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    const std::string cmdline((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    return cmdline.find(std::string(kKeeperFlag) + '\0' + id + '\0') != std::string::npos;
}

}  // namespace

pid_t start_fifo_keeper(const std::string& binary, const std::string& id,
                        const std::string& stdout_path, const std::string& stderr_path) {
    const auto out = open_read_end(stdout_path);
    const auto err = open_read_end(stderr_path);
    try {
        // The read ends become its fds 0 and 1; its own session, so that
        // nothing aimed at berthd's process group reaches it.
        return spawn_process({binary, kKeeperFlag, id},
                             {out ? out.get() : -1, err ? err.get() : -1, -1, true});
    } catch (const std::system_error& error) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           std::string("starting the fifo keeper: ") + error.what());
    }
}

void stop_fifo_keeper(pid_t pid, const std::string& id) {
    if (pid <= 0)
        return;
    // One that died already is a zombie (no command line left) if it is
    // berthd's child: reap it.
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid || !is_keeper_of(pid, id))
        return;
    ::kill(pid, SIGTERM);
    if (::waitpid(pid, &status, 0) == pid)
        return;
    // Started by an earlier berthd: not ours to reap; it goes at once.
    for (int tries = 0; tries < 100 && is_keeper_of(pid, id); ++tries)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace berth::oci::vm
