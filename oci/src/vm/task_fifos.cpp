#include "vm/task_fifos.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "berth/oci/runtime_error.hpp"

namespace berth::oci::vm {

namespace {

stream::OwnedFd make_and_open(const std::string& path, int flags) {
    if (::mkfifo(path.c_str(), 0600) != 0 && errno != EEXIST) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "creating the fifo " + path + ": " + std::strerror(errno));
    }
    stream::OwnedFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "opening the fifo " + path + ": " + std::strerror(errno));
    }
    return fd;
}

}  // namespace

TaskFifos open_task_fifos(const std::string& prefix, bool stdin, bool stdout, bool stderr) {
    TaskFifos fifos;
    if (stdin) {
        fifos.stdin_path = prefix + "stdin";
        fifos.stdin_fd = make_and_open(fifos.stdin_path, O_RDWR);
    }
    if (stdout) {
        fifos.stdout_path = prefix + "stdout";
        fifos.stdout_fd = make_and_open(fifos.stdout_path, O_RDONLY | O_NONBLOCK);
    }
    if (stderr) {
        fifos.stderr_path = prefix + "stderr";
        fifos.stderr_fd = make_and_open(fifos.stderr_path, O_RDONLY | O_NONBLOCK);
    }
    return fifos;
}

void TaskFifos::unlink() const {
    for (const auto* path : {&stdin_path, &stdout_path, &stderr_path}) {
        if (!path->empty())
            ::unlink(path->c_str());
    }
}

}  // namespace berth::oci::vm
