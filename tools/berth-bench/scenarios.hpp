// The benchmark scenarios. Each runs on one endpoint: it may set up objects
// first (not timed), runs timed iterations when asked (several times, in
// rounds that alternate with the other endpoints), and tears down.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cri_client.hpp"
#include "options.hpp"
#include "recorder.hpp"
#include "workload.hpp"

namespace berth::bench {

struct ScenarioEnv {
    const Options& options;
    CriClient& cri;
    Workload& workload;
};

// How many timed iterations a scenario runs per endpoint, in how many rounds,
// after how many untimed warm-up iterations, with how many workers.
struct Plan {
    int iterations = 0;
    int rounds = 1;
    int warmup = 0;
    int concurrency = 1;
    bool needs_image = true;
};

Plan plan_for(const std::string& scenario, const Options& options);
// The iterations of round `round` (0-based) out of plan.iterations.
int iterations_in_round(const Plan& plan, int round);

class Scenario {
public:
    explicit Scenario(ScenarioEnv env) : env_(env) {}
    virtual ~Scenario() = default;
    Scenario(const Scenario&) = delete;
    Scenario& operator=(const Scenario&) = delete;

    // Untimed preparation; failures are errors in `recorder`. False: the
    // scenario cannot run on this endpoint.
    virtual bool setup(Recorder& /*recorder*/) { return true; }
    // `count` timed iterations with the plan's concurrency.
    virtual void iterate(Recorder& recorder, int count) = 0;
    // Removes everything setup and the iterations left; never throws.
    virtual void teardown(Recorder& /*recorder*/) {}
    // Figures other than latencies (density: wall times and memory).
    virtual nlohmann::json figures() const { return nlohmann::json::object(); }

protected:
    ScenarioEnv env_;
};

std::unique_ptr<Scenario> make_scenario(const std::string& name, ScenarioEnv env);

// Helpers shared by the scenarios.
struct PodWithContainer {
    std::string pod_id;
    runtime::v1::PodSandboxConfig config;
    std::string container_id;
    double start_ms = 0;  // RunPodSandbox + CreateContainer + StartContainer
};

// Runs a pod and starts one container in it. With `timed`, each call is a
// sample of its RPC's operation; otherwise only failures are recorded, as
// "setup: RPC". On failure whatever was made is removed again.
bool start_pod_with_container(ScenarioEnv& env, Recorder& recorder, const std::string& scenario,
                              bool timed, PodWithContainer& out);
// StopPodSandbox + RemovePodSandbox, untimed; failures recorded as
// "teardown: RPC".
void remove_pod_untimed(ScenarioEnv& env, Recorder& recorder, const std::string& pod_id);
// Pulls `image` (untimed) unless the endpoint has it.
bool ensure_image(ScenarioEnv& env, Recorder& recorder, const std::string& image);

}  // namespace berth::bench
