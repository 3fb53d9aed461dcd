// What berth-bench asks the runtimes to run: pod and container configs as
// kubelet builds them (kubelet_config.hpp), with the log directories and pod
// cgroups kubelet would make first, unique names, and the worker threads that
// drive them.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "berth/cri_api.hpp"
#include "kubelet_config.hpp"
#include "options.hpp"
#include "pod_cgroups.hpp"

namespace berth::bench {

// Set by SIGINT/SIGTERM: no new iteration starts, what runs is torn down.
void install_interrupt_handler();
bool interrupted();

class Workload {
public:
    // Creates the log directory (a temporary one unless --log-dir).
    explicit Workload(const Options& options);
    // Removes what it created.
    ~Workload();
    Workload(const Workload&) = delete;
    Workload& operator=(const Workload&) = delete;

    // A pod config with a name and uid no other pod of any run has, and its
    // log directory and cgroup created (as kubelet does before
    // RunPodSandbox). Thread-safe.
    runtime::v1::PodSandboxConfig pod_config(const std::string& scenario);
    // A container of `pod`, its log directory created. Thread-safe.
    runtime::v1::ContainerConfig container_config(const runtime::v1::PodSandboxConfig& pod,
                                                  const std::string& name);

    const std::string& run_id() const { return run_id_; }

private:
    const Options& options_;
    std::string run_id_;
    std::string log_dir_;
    bool log_dir_is_ours_ = false;
    std::atomic<int> counter_{0};
    CgroupDriver cgroup_driver_ = CgroupDriver::Cgroupfs;
    // Removes the pods' cgroups when the run is over (the pods are gone).
    PodCgroups cgroups_;
    std::atomic<bool> cgroup_warned_{false};
};

// Runs body(worker, iteration) for iterations 0..count-1 on `workers`
// threads, each taking the next iteration when it is done with one. Stops
// handing out iterations once interrupted(), unless `even_if_interrupted`
// (tearing down must finish).
void run_workers(int workers, int count, const std::function<void(int, int)>& body,
                 bool even_if_interrupted = false);

}  // namespace berth::bench
