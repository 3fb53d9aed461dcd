// density: N pods with one sleeping container each, started by C workers,
// held while memory is sampled, then torn down by C workers.
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "proc_sampling.hpp"
#include "scenarios.hpp"

namespace berth::bench {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class DensityScenario : public Scenario {
public:
    using Scenario::Scenario;

    void iterate(Recorder& recorder, int count) override {
        for (int run = 0; run < count && !interrupted(); ++run)
            runs_.push_back(run_once(recorder));
    }

    void teardown(Recorder& recorder) override {
        // Whatever an interrupted run left.
        remove_all(recorder, leftovers_);
        leftovers_.clear();
    }

    nlohmann::json figures() const override { return {{"runs", runs_}}; }

private:
    nlohmann::json run_once(Recorder& recorder) {
        const auto& options = env_.options;
        const pid_t daemon = env_.cri.endpoint().daemon_pid();
        nlohmann::json result;
        result["pods"] = options.pods;
        result["concurrency"] = options.concurrency;
        result["daemon_rss_kb_before"] = vm_rss_kb(daemon).value_or(0);

        std::mutex mutex;
        std::vector<PodWithContainer> pods;
        const auto start = std::chrono::steady_clock::now();
        run_workers(options.concurrency, options.pods, [&](int, int) {
            PodWithContainer pod;
            const bool ok = start_pod_with_container(env_, recorder, "density", true, pod);
            if (ok)
                recorder.add_sample("pod start (run+create+start)", pod.start_ms);
            std::lock_guard lock(mutex);
            if (ok)
                pods.push_back(pod);
        });
        result["start_wall_s"] = seconds_since(start);
        leftovers_ = pods;

        // Held: the daemon's RSS over the hold, the monitors once in it.
        std::size_t running = 0;
        auto listed = env_.cri.list_containers(&running, true);
        record_untimed(recorder, "hold: ListContainers", listed);
        result["running_containers"] = running;
        {
            RssSampler sampler(daemon);
            sampler.begin();
            sleep_interruptibly(options.hold_seconds / 2);
            result["monitors"] = monitor_figures(pods);
            const auto held = memory_of(daemon).value_or(MemoryFigures{});
            result["daemon_held_smaps_kb"] = {{"rss", held.rss_kb},
                                              {"pss", held.pss_kb},
                                              {"uss", held.uss_kb},
                                              {"anonymous", held.anon_kb}};
            sleep_interruptibly(options.hold_seconds / 2);
            const auto window = sampler.end();
            result["daemon_rss_kb_held_mean"] = window.mean_kb;
            result["daemon_rss_kb_held_max"] = window.max_kb;
        }
        if (pods.size() < static_cast<std::size_t>(options.pods) && !interrupted()) {
            recorder.add_error("density", "only " + std::to_string(pods.size()) + " of " +
                                              std::to_string(options.pods) + " pods started");
        }

        const auto teardown_start = std::chrono::steady_clock::now();
        run_workers(
            options.concurrency, static_cast<int>(pods.size()),
            [&](int, int index) {
                const auto& id = pods[static_cast<std::size_t>(index)].pod_id;
                const auto stopped = env_.cri.stop_pod(id);
                const auto removed = env_.cri.remove_pod(id);
                if (record(recorder, "StopPodSandbox", stopped) &
                    record(recorder, "RemovePodSandbox", removed))
                    recorder.add_sample("pod teardown (stop+remove)", stopped.ms + removed.ms);
            },
            true);
        result["teardown_wall_s"] = seconds_since(teardown_start);
        leftovers_.clear();
        result["daemon_rss_kb_after"] = vm_rss_kb(daemon).value_or(0);
        return result;
    }

    nlohmann::json monitor_figures(const std::vector<PodWithContainer>& pods) const {
        std::set<std::string> ids;
        for (const auto& pod : pods) {
            ids.insert(pod.pod_id);
            ids.insert(pod.container_id);
        }
        const auto monitors = find_monitors(env_.options.monitor_names, ids);
        MemoryFigures total;
        std::set<std::string> programs;
        long max_rss = 0;
        for (const auto& monitor : monitors) {
            total.rss_kb += monitor.memory.rss_kb;
            total.pss_kb += monitor.memory.pss_kb;
            total.uss_kb += monitor.memory.uss_kb;
            max_rss = std::max(max_rss, monitor.memory.rss_kb);
            programs.insert(monitor.program);
        }
        const double containers = pods.empty() ? 1.0 : static_cast<double>(pods.size());
        nlohmann::json figures;
        figures["processes"] = monitors.size();
        figures["programs"] = programs;
        figures["uss_kb_total"] = total.uss_kb;
        figures["pss_kb_total"] = total.pss_kb;
        figures["rss_kb_total"] = total.rss_kb;
        figures["uss_kb_per_container"] = static_cast<double>(total.uss_kb) / containers;
        figures["pss_kb_per_container"] = static_cast<double>(total.pss_kb) / containers;
        figures["rss_kb_per_monitor_mean"] =
            monitors.empty()
                ? 0.0
                : static_cast<double>(total.rss_kb) / static_cast<double>(monitors.size());
        figures["rss_kb_per_monitor_max"] = max_rss;
        return figures;
    }

    static void sleep_interruptibly(double seconds) {
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(seconds));
        while (std::chrono::steady_clock::now() < until && !interrupted())
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    void remove_all(Recorder& recorder, const std::vector<PodWithContainer>& pods) {
        run_workers(
            env_.options.concurrency, static_cast<int>(pods.size()),
            [&](int, int index) {
                remove_pod_untimed(env_, recorder, pods[static_cast<std::size_t>(index)].pod_id);
            },
            true);
    }

    nlohmann::json runs_ = nlohmann::json::array();
    std::vector<PodWithContainer> leftovers_;
};

}  // namespace

std::unique_ptr<Scenario> make_density_scenario(ScenarioEnv env) {
    return std::make_unique<DensityScenario>(env);
}

}  // namespace berth::bench
