// Figures read from /proc: a daemon's resident set over time and the CPU it
// used, and the private and proportional memory of the per-container
// monitor processes.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace berth::bench {

struct MemoryFigures {
    long rss_kb = 0;
    long pss_kb = 0;   // shared pages divided among their users
    long uss_kb = 0;   // Private_Clean + Private_Dirty: what ending it would free
    long anon_kb = 0;  // Anonymous: heap, stacks and written data, no file behind
};

// VmRSS from /proc/PID/status; nullopt when the process is gone.
std::optional<long> vm_rss_kb(pid_t pid);
// From /proc/PID/smaps_rollup; nullopt when the process is gone.
std::optional<MemoryFigures> memory_of(pid_t pid);
// CPU time of a process, from /proc/PID/stat: its own threads (those that
// ended included), and the children it has waited for. A daemon that runs
// its OCI runtime and CNI plugins itself (berthd) has their cost in
// `children_ms`; one whose runtime runs under a detached shim (containerd)
// does not.
struct CpuTimes {
    double own_ms = 0;
    double children_ms = 0;
};
// nullopt when the process is gone.
std::optional<CpuTimes> cpu_times(pid_t pid);

// /proc/PID/comm, "" when gone.
std::string process_name(pid_t pid);

struct MonitorProcess {
    pid_t pid = 0;
    std::string program;  // basename of argv[0]
    MemoryFigures memory;
};

// Processes whose program is one of `programs` (exactly, or as a prefix
// followed by '-': "containerd-shim" covers containerd-shim-runc-v2) and
// whose command line has one of `ids` as an argument of its own, as
// berth-conmon and conmon have "--cid ID" and a runc v2 shim "-id SANDBOX".
std::vector<MonitorProcess> find_monitors(const std::vector<std::string>& programs,
                                          const std::set<std::string>& ids);

// VmRSS of one process sampled every 50 ms on a thread of its own, in
// windows: begin() starts one, end() returns its figures.
class RssSampler {
public:
    struct Window {
        long start_kb = 0;
        long max_kb = 0;
        long end_kb = 0;
        long mean_kb = 0;
        int samples = 0;
    };

    explicit RssSampler(pid_t pid);
    ~RssSampler();
    RssSampler(const RssSampler&) = delete;
    RssSampler& operator=(const RssSampler&) = delete;

    void begin();
    Window end();
    pid_t pid() const { return pid_; }

private:
    void sample_locked();
    void loop();

    pid_t pid_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    Window window_;
    long long sum_kb_ = 0;
    std::thread thread_;
};

}  // namespace berth::bench
