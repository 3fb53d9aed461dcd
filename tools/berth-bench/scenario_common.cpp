#include <algorithm>

#include "scenarios.hpp"

namespace berth::bench {

std::unique_ptr<Scenario> make_pod_scenario(ScenarioEnv env);
std::unique_ptr<Scenario> make_container_scenario(ScenarioEnv env);
std::unique_ptr<Scenario> make_scratch_scenario(ScenarioEnv env);
std::unique_ptr<Scenario> make_exec_scenario(ScenarioEnv env);
std::unique_ptr<Scenario> make_list_scenario(ScenarioEnv env);
std::unique_ptr<Scenario> make_density_scenario(ScenarioEnv env);
std::unique_ptr<Scenario> make_pull_scenario(ScenarioEnv env);

Plan plan_for(const std::string& scenario, const Options& options) {
    Plan plan;
    plan.iterations = options.iterations;
    plan.rounds = std::min(options.rounds, options.iterations);
    plan.warmup = options.warmup;
    plan.concurrency = options.concurrency;
    if (scenario == "pod") {
        plan.needs_image = false;
    } else if (scenario == "density") {
        // One run is N pods started with the given concurrency: the runs
        // themselves alternate, and none is a warm-up.
        plan.iterations = options.density_runs;
        plan.rounds = options.density_runs;
        plan.warmup = 0;
    } else if (scenario == "pull") {
        // Pulling the same image from several workers at once measures the
        // sharing of one download, not a pull: pulls run one at a time.
        plan.concurrency = 1;
        plan.needs_image = false;
    }
    return plan;
}

int iterations_in_round(const Plan& plan, int round) {
    const int rounds = std::max(plan.rounds, 1);
    return plan.iterations / rounds + (round < plan.iterations % rounds ? 1 : 0);
}

std::unique_ptr<Scenario> make_scenario(const std::string& name, ScenarioEnv env) {
    if (name == "pod")
        return make_pod_scenario(env);
    if (name == "container")
        return make_container_scenario(env);
    if (name == "scratch")
        return make_scratch_scenario(env);
    if (name == "exec")
        return make_exec_scenario(env);
    if (name == "list")
        return make_list_scenario(env);
    if (name == "density")
        return make_density_scenario(env);
    if (name == "pull")
        return make_pull_scenario(env);
    return nullptr;
}

bool start_pod_with_container(ScenarioEnv& env, Recorder& recorder, const std::string& scenario,
                              bool timed, PodWithContainer& out) {
    auto note = [&](const std::string& operation, const Outcome& outcome) {
        return timed ? record(recorder, operation, outcome)
                     : record_untimed(recorder, "setup: " + operation, outcome);
    };
    out.config = env.workload.pod_config(scenario);
    const auto ran = env.cri.run_pod(out.config, env.options.runtime_handler, &out.pod_id);
    if (!note("RunPodSandbox", ran))
        return false;
    const auto created = env.cri.create_container(out.pod_id, out.config,
                                                  env.workload.container_config(out.config, "work"),
                                                  &out.container_id);
    if (!note("CreateContainer", created)) {
        remove_pod_untimed(env, recorder, out.pod_id);
        return false;
    }
    const auto started = env.cri.start_container(out.container_id);
    if (!note("StartContainer", started)) {
        remove_pod_untimed(env, recorder, out.pod_id);
        return false;
    }
    out.start_ms = ran.ms + created.ms + started.ms;
    return true;
}

void remove_pod_untimed(ScenarioEnv& env, Recorder& recorder, const std::string& pod_id) {
    if (pod_id.empty())
        return;
    record_untimed(recorder, "teardown: StopPodSandbox", env.cri.stop_pod(pod_id));
    record_untimed(recorder, "teardown: RemovePodSandbox", env.cri.remove_pod(pod_id));
}

bool ensure_image(ScenarioEnv& env, Recorder& recorder, const std::string& image) {
    bool present = false;
    if (!record_untimed(recorder, "setup: ImageStatus", env.cri.image_present(image, &present)))
        return false;
    return present || record_untimed(recorder, "setup: PullImage", env.cri.pull_image(image));
}

}  // namespace berth::bench
