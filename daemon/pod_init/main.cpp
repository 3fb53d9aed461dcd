// berth-pod-init: PID 1 of a pod's shared PID namespace (pid: POD), and the
// sandbox task of pods of VM runtime handlers. It does what an init must and
// nothing else: reap the zombies that orphaned processes of the pod leave,
// and exit on SIGTERM or SIGINT. Statically linked and independent of the
// rest of Berth, so it costs a few dozen KiB. The VM runtime also starts it
// as `berth-pod-init --keep-fifos-of ID` to hold a container's output fifos
// open across a berthd restart: arguments are ignored, the fds it inherits
// are simply kept.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGCHLD);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    for (;;) {
        int received = 0;
        if (sigwait(&signals, &received) != 0) {
            continue;
        }
        if (received == SIGCHLD) {
            while (waitpid(-1, nullptr, WNOHANG) > 0) {
            }
            continue;
        }
        return 0;
    }
}
