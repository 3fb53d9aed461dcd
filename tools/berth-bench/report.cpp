#include "report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <ostream>
#include <thread>

#include "stats.hpp"

namespace berth::bench {

namespace {

std::string fixed(double value, int decimals = 2) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.*f", decimals, value);
    return text;
}

std::string mib(long kb) {
    return fixed(static_cast<double>(kb) / 1024.0, 1);
}

std::string pad(const std::string& text, std::size_t width, bool right = false) {
    if (text.size() >= width)
        return text;
    const std::string fill(width - text.size(), ' ');
    return right ? fill + text : text + fill;
}

std::string now_text() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char text[64];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S%z", &local);
    return text;
}

// Operations in the order they first appeared on any endpoint.
std::vector<std::string> operations_of(const ScenarioRun& run) {
    std::vector<std::string> names;
    for (const auto& result : run.endpoints) {
        for (const auto& name : result.recorder->operations()) {
            if (std::find(names.begin(), names.end(), name) == names.end())
                names.push_back(name);
        }
    }
    return names;
}

std::optional<double> p50_of(const OperationData& data) {
    return percentile(data.samples_ms, 50);
}

void print_density(std::ostream& out, const std::vector<EndpointInfo>& endpoints,
                   const ScenarioRun& run) {
    out << "\n"
        << pad("endpoint", 14) << pad("run", 4, true) << pad("running", 9, true)
        << pad("start s", 9, true) << pad("teardown s", 11, true) << pad("RSS before", 12, true)
        << pad("RSS held", 10, true) << pad("monitors", 10, true) << pad("USS/ctr", 10, true)
        << pad("PSS/ctr", 10, true) << pad("RSS/mon", 10, true) << "  programs\n";
    for (std::size_t e = 0; e < run.endpoints.size(); ++e) {
        const auto& figures = run.endpoints[e].figures;
        if (!figures.contains("runs"))
            continue;
        int number = 0;
        for (const auto& one : figures.at("runs")) {
            ++number;
            const auto& monitors = one.value("monitors", nlohmann::json::object());
            std::string programs;
            for (const auto& program : monitors.value("programs", nlohmann::json::array()))
                programs += (programs.empty() ? "" : ",") + program.get<std::string>();
            out << pad(endpoints[e].label, 14) << pad(std::to_string(number), 4, true)
                << pad(std::to_string(one.value("running_containers", 0)) + "/" +
                           std::to_string(one.value("pods", 0)),
                       9, true)
                << pad(fixed(one.value("start_wall_s", 0.0)), 9, true)
                << pad(fixed(one.value("teardown_wall_s", 0.0)), 11, true)
                << pad(mib(one.value("daemon_rss_kb_before", 0L)) + " MiB", 12, true)
                << pad(mib(one.value("daemon_rss_kb_held_mean", 0L)) + " MiB", 10, true)
                << pad(std::to_string(monitors.value("processes", 0)), 10, true)
                << pad(fixed(monitors.value("uss_kb_per_container", 0.0), 0) + " KiB", 10, true)
                << pad(fixed(monitors.value("pss_kb_per_container", 0.0), 0) + " KiB", 10, true)
                << pad(fixed(monitors.value("rss_kb_per_monitor_mean", 0.0), 0) + " KiB", 10, true)
                << "  " << (programs.empty() ? "-" : programs) << "\n";
            const auto held = one.value("daemon_held_smaps_kb", nlohmann::json::object());
            out << pad("", 18) << "daemon while held: PSS " << mib(held.value("pss", 0L))
                << " MiB, USS " << mib(held.value("uss", 0L)) << " MiB, anonymous "
                << mib(held.value("anonymous", 0L)) << " MiB\n";
        }
    }
    out << "(RSS held: the daemon's mean VmRSS while the pods ran; USS/PSS per container: the "
           "monitors' summed smaps_rollup over the containers started; RSS/mon: mean VmRSS of "
           "one monitor process)\n";
}

}  // namespace

void print_endpoints(std::ostream& out, const std::vector<EndpointInfo>& endpoints) {
    char host[256] = "";
    ::gethostname(host, sizeof(host) - 1);
    utsname system{};
    ::uname(&system);
    out << "berth-bench " << now_text() << " on " << host << " (" << system.sysname << " "
        << system.release << ", " << std::thread::hardware_concurrency() << " CPUs)\n";
    const char* letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (std::size_t e = 0; e < endpoints.size(); ++e) {
        const auto& endpoint = endpoints[e];
        out << "  " << (e < 26 ? letters[e] : '?') << " " << pad(endpoint.label, 12) << " "
            << endpoint.uri << "  " << endpoint.runtime << ", pid " << endpoint.pid << "\n"
            << "      idle: RSS " << mib(endpoint.idle_rss_kb) << " MiB, PSS "
            << mib(endpoint.idle.pss_kb) << " MiB, USS " << mib(endpoint.idle.uss_kb)
            << " MiB, anonymous " << mib(endpoint.idle.anon_kb) << " MiB\n";
    }
}

void print_report(std::ostream& out, const Options& options,
                  const std::vector<EndpointInfo>& endpoints,
                  const std::vector<ScenarioRun>& runs) {
    const std::string versus = endpoints.size() > 1 ? "p50 vs " + endpoints[0].label : "";
    for (const auto& run : runs) {
        out << "\n== " << run.name << ": ";
        if (run.name == "density") {
            out << options.pods << " pods x 1 container, concurrency " << run.plan.concurrency
                << ", " << run.plan.iterations << " run" << (run.plan.iterations == 1 ? "" : "s")
                << " per endpoint";
        } else {
            out << run.plan.iterations << " iterations per endpoint in " << run.plan.rounds
                << " alternating round" << (run.plan.rounds == 1 ? "" : "s") << ", concurrency "
                << run.plan.concurrency << ", " << run.plan.warmup << " warm-up";
        }
        out << " ==\n";
        out << pad("operation", 36) << pad("endpoint", 14) << pad("count", 6, true)
            << pad("errors", 7, true) << pad("p50 ms", 10, true) << pad("p95 ms", 10, true)
            << pad("p99 ms", 10, true) << pad("max ms", 10, true) << pad("ops/s", 9, true)
            << (versus.empty() ? "" : "  " + versus) << "\n";
        for (const auto& operation : operations_of(run)) {
            const auto baseline = p50_of(run.endpoints[0].recorder->data(operation));
            for (std::size_t e = 0; e < run.endpoints.size(); ++e) {
                const auto data = run.endpoints[e].recorder->data(operation);
                const auto summary = summarize(data.samples_ms, data.errors,
                                               static_cast<std::size_t>(run.plan.concurrency));
                const bool has = summary.count > 0;
                out << pad(e == 0 ? operation : "", 36) << pad(endpoints[e].label, 14)
                    << pad(std::to_string(summary.count), 6, true)
                    << pad(std::to_string(summary.errors), 7, true)
                    << pad(has ? fixed(summary.p50) : "-", 10, true)
                    << pad(has ? fixed(summary.p95) : "-", 10, true)
                    << pad(has ? fixed(summary.p99) : "-", 10, true)
                    << pad(has ? fixed(summary.max) : "-", 10, true)
                    << pad(has ? fixed(summary.ops_per_second, 1) : "-", 9, true);
                if (e > 0)
                    out << "  " << format_ratio(ratio(p50_of(data), baseline));
                out << "\n";
            }
        }
        out << "daemon RSS, MiB (start / max / end):";
        for (std::size_t e = 0; e < run.endpoints.size(); ++e) {
            const auto& rss = run.endpoints[e].daemon_rss;
            out << (e == 0 ? " " : "; ") << endpoints[e].label << " " << mib(rss.start_kb) << " / "
                << mib(rss.max_kb) << " / " << mib(rss.end_kb);
        }
        out << "\n";
        out << "daemon CPU per timed iteration, ms (own / children it waited for):";
        for (std::size_t e = 0; e < run.endpoints.size(); ++e) {
            const auto& result = run.endpoints[e];
            const double iterations = std::max(result.timed_iterations, 1);
            out << (e == 0 ? " " : "; ") << endpoints[e].label << " "
                << fixed(result.daemon_cpu.own_ms / iterations) << " / "
                << fixed(result.daemon_cpu.children_ms / iterations);
        }
        out << "\n";
        if (run.name == "density")
            print_density(out, endpoints, run);
    }

    const auto errors = total_errors(runs);
    if (errors == 0)
        return;
    out << "\nERRORS: " << errors << "\n";
    for (const auto& run : runs) {
        for (std::size_t e = 0; e < run.endpoints.size(); ++e) {
            const auto& recorder = *run.endpoints[e].recorder;
            for (const auto& operation : recorder.operations()) {
                const auto data = recorder.data(operation);
                if (data.errors == 0)
                    continue;
                out << "  " << run.name << " on " << endpoints[e].label << ", " << operation << ": "
                    << data.errors << " error" << (data.errors == 1 ? "" : "s") << "\n";
                for (const auto& message : data.messages)
                    out << "    " << message << "\n";
            }
        }
    }
}

std::size_t total_errors(const std::vector<ScenarioRun>& runs) {
    std::size_t errors = 0;
    for (const auto& run : runs)
        for (const auto& result : run.endpoints)
            errors += result.recorder->total_errors();
    return errors;
}

nlohmann::json report_json(const Options& options, const std::vector<EndpointInfo>& endpoints,
                           const std::vector<ScenarioRun>& runs, bool interrupted) {
    nlohmann::json document;
    document["tool"] = "berth-bench";
    document["date"] = now_text();
    char host[256] = "";
    ::gethostname(host, sizeof(host) - 1);
    utsname system{};
    ::uname(&system);
    document["host"] = {
        {"name", host}, {"kernel", system.release}, {"cpus", std::thread::hardware_concurrency()}};
    document["options"] = {{"scenarios", options.scenarios},
                           {"iterations", options.iterations},
                           {"rounds", options.rounds},
                           {"concurrency", options.concurrency},
                           {"warmup", options.warmup},
                           {"image", options.image},
                           {"runtime_handler", options.runtime_handler},
                           {"stop_timeout", options.stop_timeout},
                           {"command", options.command},
                           {"exec_command", options.exec_command},
                           {"list_objects", options.list_objects},
                           {"pods", options.pods},
                           {"density_runs", options.density_runs},
                           {"hold_seconds", options.hold_seconds},
                           {"pull_images", options.pull_images},
                           {"host_network", options.host_network}};
    for (const auto& endpoint : endpoints) {
        document["endpoints"].push_back({{"label", endpoint.label},
                                         {"endpoint", endpoint.uri},
                                         {"pid", endpoint.pid},
                                         {"runtime", endpoint.runtime},
                                         {"daemon_rss_kb_idle", endpoint.idle_rss_kb},
                                         {"daemon_idle_smaps_kb",
                                          {{"rss", endpoint.idle.rss_kb},
                                           {"pss", endpoint.idle.pss_kb},
                                           {"uss", endpoint.idle.uss_kb},
                                           {"anonymous", endpoint.idle.anon_kb}}}});
    }
    document["scenarios"] = nlohmann::json::array();
    for (const auto& run : runs) {
        nlohmann::json scenario = {{"name", run.name},
                                   {"iterations", run.plan.iterations},
                                   {"rounds", run.plan.rounds},
                                   {"warmup", run.plan.warmup},
                                   {"concurrency", run.plan.concurrency}};
        for (std::size_t e = 0; e < run.endpoints.size(); ++e) {
            const auto& result = run.endpoints[e];
            nlohmann::json entry = {{"endpoint", endpoints[e].label},
                                    {"skipped", result.skipped},
                                    {"timed_wall_s", result.timed_wall_s},
                                    {"daemon_rss_kb",
                                     {{"start", result.daemon_rss.start_kb},
                                      {"max", result.daemon_rss.max_kb},
                                      {"end", result.daemon_rss.end_kb},
                                      {"mean", result.daemon_rss.mean_kb}}},
                                    {"daemon_cpu_ms",
                                     {{"own", result.daemon_cpu.own_ms},
                                      {"children", result.daemon_cpu.children_ms},
                                      {"timed_iterations", result.timed_iterations}}},
                                    {"figures", result.figures},
                                    {"operations", nlohmann::json::object()}};
            for (const auto& operation : result.recorder->operations()) {
                const auto data = result.recorder->data(operation);
                const auto summary = summarize(data.samples_ms, data.errors,
                                               static_cast<std::size_t>(run.plan.concurrency));
                nlohmann::json op = {{"count", summary.count},
                                     {"errors", summary.errors},
                                     {"error_messages", data.messages},
                                     {"samples_ms", data.samples_ms}};
                if (summary.count > 0) {
                    op["p50_ms"] = summary.p50;
                    op["p95_ms"] = summary.p95;
                    op["p99_ms"] = summary.p99;
                    op["max_ms"] = summary.max;
                    op["mean_ms"] = summary.mean;
                    op["ops_per_s"] = summary.ops_per_second;
                }
                if (e > 0) {
                    const auto value =
                        ratio(p50_of(data), p50_of(run.endpoints[0].recorder->data(operation)));
                    if (value)
                        op["p50_ratio_to_first"] = *value;
                }
                entry["operations"][operation] = op;
            }
            scenario["results"].push_back(entry);
        }
        document["scenarios"].push_back(scenario);
    }
    document["errors"] = total_errors(runs);
    document["interrupted"] = interrupted;
    return document;
}

}  // namespace berth::bench
