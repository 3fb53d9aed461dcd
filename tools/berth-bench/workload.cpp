#include "workload.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace berth::bench {
namespace fs = std::filesystem;
namespace v1 = runtime::v1;

namespace {

std::atomic<bool> g_interrupted{false};

void on_interrupt(int) {
    g_interrupted = true;
    // A second Ctrl-C ends the run at once, without tearing anything down.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
}

std::string random_hex(int digits) {
    std::random_device random;
    std::string text;
    while (static_cast<int>(text.size()) < digits) {
        char part[9];
        std::snprintf(part, sizeof(part), "%08x", random());
        text += part;
    }
    return text.substr(0, static_cast<std::size_t>(digits));
}

}  // namespace

void install_interrupt_handler() {
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() {
    return g_interrupted.load();
}

Workload::Workload(const Options& options)
    : options_(options),
      run_id_(random_hex(8)),
      cgroup_driver_(options.cgroup_driver == "systemd" ? CgroupDriver::Systemd
                                                        : CgroupDriver::Cgroupfs) {
    if (options_.log_dir.empty()) {
        std::string pattern = (fs::temp_directory_path() / "berth-bench-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
        }
        log_dir_ = pattern;
        log_dir_is_ours_ = true;
    } else {
        log_dir_ = fs::absolute(options_.log_dir).string();
        fs::create_directories(log_dir_);
    }
}

Workload::~Workload() {
    std::error_code ignored;
    if (log_dir_is_ours_)
        fs::remove_all(log_dir_, ignored);
}

v1::PodSandboxConfig Workload::pod_config(const std::string& scenario) {
    const int number = counter_++;
    PodIdentity pod;
    pod.name = "bench-" + scenario + "-" + run_id_ + "-" + std::to_string(number);
    pod.namespace_ = "berth-bench";
    pod.uid = run_id_ + random_hex(24);
    PodSettings settings;
    settings.host_network = options_.host_network;
    settings.log_root = log_dir_;
    settings.cgroup_parent = pod_cgroup_parent(options_.cgroup_root, cgroup_driver_, pod.uid);
    settings.dns_servers = {"127.0.0.1"};
    settings.extra_labels = {{"berth-bench/run", run_id_}, {"berth-bench/scenario", scenario}};
    auto config = kubelet_pod_config(pod, settings);
    fs::create_directories(config.log_directory());
    // With systemd, kubelet asks systemd for the slice; the runtimes' own
    // systemd driver makes it here.
    if (cgroup_driver_ == CgroupDriver::Cgroupfs && !settings.cgroup_parent.empty()) {
        const auto problem = cgroups_.create(settings.cgroup_parent);
        if (!problem.empty() && !cgroup_warned_.exchange(true)) {
            std::fprintf(stderr, "berth-bench: pod cgroups left to the runtimes: %s\n",
                         problem.c_str());
        }
    }
    return config;
}

v1::ContainerConfig Workload::container_config(const v1::PodSandboxConfig& pod,
                                               const std::string& name) {
    ContainerSpec spec;
    spec.name = name;
    spec.image = options_.image;
    spec.command = {"sh", "-c", options_.command};
    spec.extra_labels = {{"berth-bench/run", run_id_}};
    auto config = kubelet_container_config(pod, spec);
    // kubelet makes the container's log directory before CreateContainer.
    fs::create_directories((fs::path(pod.log_directory()) / config.log_path()).parent_path());
    return config;
}

void run_workers(int workers, int count, const std::function<void(int, int)>& body,
                 bool even_if_interrupted) {
    std::atomic<int> next{0};
    auto work = [&](int worker) {
        for (;;) {
            if (interrupted() && !even_if_interrupted)
                return;
            const int iteration = next++;
            if (iteration >= count)
                return;
            body(worker, iteration);
        }
    };
    if (workers <= 1) {
        work(0);
        return;
    }
    std::vector<std::thread> threads;
    for (int worker = 0; worker < workers; ++worker)
        threads.emplace_back(work, worker);
    for (auto& thread : threads)
        thread.join();
}

}  // namespace berth::bench
