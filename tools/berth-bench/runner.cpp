#include "runner.hpp"

#include <chrono>
#include <ostream>

namespace berth::bench {

std::vector<ScenarioRun> run_scenarios(const Options& options,
                                       std::vector<std::unique_ptr<Endpoint>>& endpoints,
                                       Workload& workload, std::ostream& progress) {
    std::vector<std::unique_ptr<CriClient>> clients;
    std::vector<std::unique_ptr<RssSampler>> samplers;
    for (auto& endpoint : endpoints) {
        clients.push_back(std::make_unique<CriClient>(*endpoint, options.timeout));
        samplers.push_back(std::make_unique<RssSampler>(endpoint->daemon_pid()));
    }
    std::vector<ScenarioRun> runs;
    for (const auto& name : options.scenarios) {
        if (interrupted())
            break;
        ScenarioRun run;
        run.name = name;
        run.plan = plan_for(name, options);
        run.endpoints.resize(endpoints.size());
        std::vector<std::unique_ptr<Scenario>> scenarios;
        for (std::size_t e = 0; e < endpoints.size(); ++e) {
            auto& result = run.endpoints[e];
            samplers[e]->begin();
            ScenarioEnv env{options, *clients[e], workload};
            scenarios.push_back(make_scenario(name, env));
            const bool ready =
                (!run.plan.needs_image || ensure_image(env, *result.recorder, options.image)) &&
                scenarios.back()->setup(*result.recorder);
            result.skipped = !ready;
            if (!ready) {
                progress << "berth-bench: " << name << ": set-up failed on "
                         << endpoints[e]->label() << ", skipped there\n";
            }
        }
        for (int round = 0; round < run.plan.rounds && !interrupted(); ++round) {
            const int count = iterations_in_round(run.plan, round);
            for (std::size_t step = 0; step < endpoints.size(); ++step) {
                const std::size_t e = round % 2 == 0 ? step : endpoints.size() - 1 - step;
                auto& result = run.endpoints[e];
                if (result.skipped || interrupted())
                    continue;
                if (!options.quiet) {
                    progress << "berth-bench: " << name << " round " << round + 1 << "/"
                             << run.plan.rounds << " on " << endpoints[e]->label() << ": " << count
                             << " iteration" << (count == 1 ? "" : "s") << "\n"
                             << std::flush;
                }
                if (round == 0 && run.plan.warmup > 0) {
                    Recorder warmup(false);
                    scenarios[e]->iterate(warmup, run.plan.warmup);
                    result.recorder->merge(warmup);
                }
                const pid_t daemon = endpoints[e]->daemon_pid();
                const auto cpu_before = cpu_times(daemon);
                const auto start = std::chrono::steady_clock::now();
                scenarios[e]->iterate(*result.recorder, count);
                result.timed_wall_s +=
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                const auto cpu_after = cpu_times(daemon);
                if (cpu_before && cpu_after) {
                    result.daemon_cpu.own_ms += cpu_after->own_ms - cpu_before->own_ms;
                    result.daemon_cpu.children_ms +=
                        cpu_after->children_ms - cpu_before->children_ms;
                    result.timed_iterations += count;
                }
            }
        }
        for (std::size_t e = 0; e < endpoints.size(); ++e) {
            auto& result = run.endpoints[e];
            scenarios[e]->teardown(*result.recorder);
            result.figures = scenarios[e]->figures();
            result.daemon_rss = samplers[e]->end();
        }
        runs.push_back(std::move(run));
    }
    return runs;
}

}  // namespace berth::bench
