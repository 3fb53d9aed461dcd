// berth-pod-init: started for pods with a pod-wide PID namespace, inside the
// pod's user (if it has one), network, IPC and UTS namespaces, as PID 1 of a new PID namespace.
// It is not berthd's child for long: it outlives a daemon restart, like the
// pod's containers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "sandbox/sandbox.hpp"

namespace berth::daemon::sandbox {

struct PodInit {
    pid_t pid = 0;
    std::uint64_t start_time = 0;
};

// berth-pod-init beside berthd, in ../libexec/berth/, or from PATH; throws
// std::runtime_error naming the places searched.
std::string find_pod_init_binary();

// Starts it in the record's namespaces; throws std::runtime_error.
PodInit start_pod_init(const std::string& binary, const Sandbox& record);

// True while that very process (pid and start time) runs.
bool pod_init_running(const PodInit& init);

// SIGTERM, then SIGKILL if it has not gone within `grace`. Returns once it
// has ended.
void stop_pod_init(const PodInit& init);

// Start time of a process in clock ticks since boot (field 22 of
// /proc/<pid>/stat), 0 when it does not exist.
std::uint64_t process_start_time(pid_t pid);

}  // namespace berth::daemon::sandbox
