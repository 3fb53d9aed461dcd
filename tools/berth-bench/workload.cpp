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

Workload::Workload(const Options& options) : options_(options), run_id_(random_hex(8)) {
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
    const std::string name = "bench-" + scenario + "-" + run_id_ + "-" + std::to_string(number);
    v1::PodSandboxConfig config;
    auto& metadata = *config.mutable_metadata();
    metadata.set_name(name);
    metadata.set_namespace_("berth-bench");
    metadata.set_uid(run_id_ + random_hex(24));
    metadata.set_attempt(0);
    config.set_hostname(name.substr(0, 63));
    const std::string log_directory = log_dir_ + "/" + metadata.uid();
    fs::create_directories(log_directory);
    config.set_log_directory(log_directory);
    config.mutable_dns_config()->add_servers("127.0.0.1");
    (*config.mutable_labels())["berth-bench/run"] = run_id_;
    (*config.mutable_labels())["berth-bench/scenario"] = scenario;
    auto& namespaces =
        *config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    // kubelet's defaults: pod network and IPC, a PID namespace per container.
    namespaces.set_network(options_.host_network ? v1::NODE : v1::POD);
    namespaces.set_pid(v1::CONTAINER);
    namespaces.set_ipc(v1::POD);
    return config;
}

v1::ContainerConfig Workload::container_config(const std::string& name) const {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_metadata()->set_attempt(0);
    config.mutable_image()->set_image(options_.image);
    config.add_command("sh");
    config.add_command("-c");
    config.add_command(options_.command);
    config.set_log_path(name + "_0.log");
    (*config.mutable_labels())["berth-bench/run"] = run_id_;
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
