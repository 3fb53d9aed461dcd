#include "process_setup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "atomic_file.hpp"
#include "berth/conmon/unique_fd.hpp"

namespace berth::conmon {

void mark_inherited_fds_cloexec() {
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
        return;
    }
    // Kernels before 5.11: one fd at a time.
    const long limit = ::sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (limit > 0 && limit < 65536 ? limit : 65536); ++fd) {
        const int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0) {
            ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }
    }
}

bool become_monitor(const Options& options, std::string& error) {
    const pid_t child = ::fork();
    if (child < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        return false;
    }
    if (child > 0) {
        ::_exit(0);
    }
    // Out of berthd's session and process group: a signal to those (or
    // berthd dying) must not reach the monitor.
    ::setsid();
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        error = std::string("PR_SET_CHILD_SUBREAPER: ") + std::strerror(errno);
        return false;
    }
    UniqueFd dev_null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!dev_null || ::dup2(dev_null.get(), 0) < 0 || ::dup2(dev_null.get(), 1) < 0 ||
        ::dup2(dev_null.get(), 2) < 0) {
        error = std::string("stdio to /dev/null: ") + std::strerror(errno);
        return false;
    }
    // berthd stops containers through the runtime, never by signalling us;
    // SIGHUP is ignored too because the pty we relay must never kill us.
    for (const int signal_number : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) {
        ::signal(signal_number, SIG_IGN);
    }
    if (!write_file_atomically(options.conmon_pidfile, std::to_string(::getpid()))) {
        error = "cannot write " + options.conmon_pidfile + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace berth::conmon
