// berth-bench's output: the human table (per scenario and operation, one row
// per endpoint with the ratio to the first endpoint) and the JSON document
// with every raw sample.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "endpoint.hpp"
#include "options.hpp"
#include "proc_sampling.hpp"
#include "runner.hpp"

namespace berth::bench {

struct EndpointInfo {
    std::string label;
    std::string uri;
    pid_t pid = 0;
    std::string runtime;   // "containerd v1.6.20"
    long idle_rss_kb = 0;  // before the first scenario
    MemoryFigures idle;    // smaps_rollup then: RSS, PSS, USS, anonymous
};

void print_endpoints(std::ostream& out, const std::vector<EndpointInfo>& endpoints);
void print_report(std::ostream& out, const Options& options,
                  const std::vector<EndpointInfo>& endpoints, const std::vector<ScenarioRun>& runs);
nlohmann::json report_json(const Options& options, const std::vector<EndpointInfo>& endpoints,
                           const std::vector<ScenarioRun>& runs, bool interrupted);
std::size_t total_errors(const std::vector<ScenarioRun>& runs);

}  // namespace berth::bench
