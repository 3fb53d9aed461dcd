// berth-bench: the CRI lifecycle timed on one or more endpoints side by side
// (docs/benchmarks.md). Exit status: 0 when every call succeeded, 1 when any
// failed, 2 for a bad command line or an endpoint that cannot be reached,
// 130 when interrupted.
#include <fstream>
#include <iostream>
#include <set>

#include "endpoint.hpp"
#include "options.hpp"
#include "proc_sampling.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "workload.hpp"

using namespace berth::bench;

namespace {

// Labels default to the daemon's program name ("berthd", "containerd"), made
// unique so that two daemons of one kind stay apart in the table.
void assign_labels(std::vector<std::unique_ptr<Endpoint>>& endpoints) {
    std::set<std::string> used;
    for (auto& endpoint : endpoints) {
        std::string label = endpoint->label();
        if (label.empty()) {
            label = process_name(endpoint->daemon_pid());
            if (label.empty())
                label = endpoint->spec().socket_path;
        }
        std::string unique = label;
        for (int n = 2; used.count(unique) != 0; ++n)
            unique = label + "#" + std::to_string(n);
        used.insert(unique);
        endpoint->set_label(unique);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (const int code = parse_options(argc, argv, options); code >= 0)
        return code;
    install_interrupt_handler();

    std::vector<std::unique_ptr<Endpoint>> endpoints;
    for (const auto& spec : options.endpoints) {
        endpoints.push_back(std::make_unique<Endpoint>(spec));
        const auto problem = endpoints.back()->connect(std::chrono::seconds(10));
        if (!problem.empty()) {
            std::cerr << "berth-bench: " << problem << "\n";
            return 2;
        }
    }
    assign_labels(endpoints);
    std::vector<EndpointInfo> infos;
    for (const auto& endpoint : endpoints) {
        infos.push_back({endpoint->label(), endpoint->spec().uri, endpoint->daemon_pid(),
                         endpoint->runtime_name() + " " + endpoint->runtime_version(),
                         vm_rss_kb(endpoint->daemon_pid()).value_or(0),
                         memory_of(endpoint->daemon_pid()).value_or(MemoryFigures{})});
    }
    print_endpoints(std::cout, infos);
    std::cout << std::flush;

    std::vector<ScenarioRun> runs;
    try {
        Workload workload(options);
        runs = run_scenarios(options, endpoints, workload, std::cerr);
    } catch (const std::exception& error) {
        std::cerr << "berth-bench: " << error.what() << "\n";
        return 2;
    }
    print_report(std::cout, options, infos, runs);
    if (!options.json_file.empty()) {
        std::ofstream out(options.json_file, std::ios::trunc);
        out << report_json(options, infos, runs, interrupted()).dump(2) << "\n";
        if (!out) {
            std::cerr << "berth-bench: cannot write " << options.json_file << "\n";
            return 2;
        }
    }
    if (interrupted()) {
        std::cerr << "berth-bench: interrupted; what the run had made is removed\n";
        return 130;
    }
    const auto errors = total_errors(runs);
    if (errors > 0) {
        std::cerr << "berth-bench: " << errors << " call" << (errors == 1 ? "" : "s")
                  << " failed (see ERRORS above)\n";
        return 1;
    }
    return 0;
}
