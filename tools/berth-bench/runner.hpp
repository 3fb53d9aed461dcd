// Runs the chosen scenarios on every endpoint: set-up on each, then the
// timed rounds alternating between endpoints (A B, B A, A B, ...) so that
// drift of the machine hits all alike, then tear-down on each.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "endpoint.hpp"
#include "proc_sampling.hpp"
#include "recorder.hpp"
#include "scenarios.hpp"

namespace berth::bench {

struct EndpointRun {
    std::unique_ptr<Recorder> recorder = std::make_unique<Recorder>();
    RssSampler::Window daemon_rss;  // over set-up, rounds and tear-down
    nlohmann::json figures = nlohmann::json::object();
    double timed_wall_s = 0;  // the timed rounds only
    CpuTimes daemon_cpu;      // used by the daemon in the timed rounds only
    int timed_iterations = 0;
    bool skipped = false;  // set-up failed
};

struct ScenarioRun {
    std::string name;
    Plan plan;
    std::vector<EndpointRun> endpoints;  // in -r order
};

std::vector<ScenarioRun> run_scenarios(const Options& options,
                                       std::vector<std::unique_ptr<Endpoint>>& endpoints,
                                       Workload& workload, std::ostream& progress);

}  // namespace berth::bench
