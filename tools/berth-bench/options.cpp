#include "options.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>

namespace berth::bench {

std::string socket_path_of(const std::string& endpoint) {
    std::string path;
    if (endpoint.rfind("unix://", 0) == 0) {
        path = endpoint.substr(7);
    } else if (endpoint.rfind("unix:", 0) == 0) {
        path = endpoint.substr(5);
    } else if (!endpoint.empty() && endpoint.front() == '/') {
        path = endpoint;
    } else {
        throw std::invalid_argument("endpoint \"" + endpoint +
                                    "\" is not supported: use unix:///path/to/socket");
    }
    if (path.empty() || path.front() != '/') {
        throw std::invalid_argument("endpoint \"" + endpoint +
                                    "\": a unix endpoint needs an absolute path");
    }
    return path;
}

EndpointSpec parse_endpoint(const std::string& text) {
    EndpointSpec spec;
    std::string endpoint = text;
    // A label never holds '/' or ':', an endpoint always does before any '='.
    const auto equals = text.find('=');
    if (equals != std::string::npos && text.find_first_of("/:") > equals) {
        spec.label = text.substr(0, equals);
        endpoint = text.substr(equals + 1);
        if (spec.label.empty())
            throw std::invalid_argument("endpoint \"" + text + "\": empty label before '='");
    }
    spec.socket_path = socket_path_of(endpoint);
    spec.uri = "unix://" + spec.socket_path;
    return spec;
}

namespace {

std::vector<std::string> split_words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    for (std::string word; in >> word;)
        words.push_back(word);
    return words;
}

}  // namespace

int parse_options(int argc, char** argv, Options& options) {
    CLI::App app{
        "berth-bench: times the CRI lifecycle (pods, containers, exec, lists, density, pulls) on "
        "one or more CRI endpoints, in alternating rounds, and compares them",
        "berth-bench"};
    std::vector<std::string> endpoints;
    std::vector<int> daemon_pids;
    std::string scenarios;
    std::string exec_command;
    std::string monitors;
    int timeout_seconds = static_cast<int>(options.timeout.count());
    app.add_option("-r,--runtime-endpoint", endpoints,
                   "CRI endpoint [LABEL=]unix:///path, repeatable; the first is the baseline A "
                   "of the ratios")
        ->required();
    app.add_option("-s,--scenario", scenarios,
                   "comma-separated: pod, container, scratch, exec, list, density, pull, or all")
        ->default_str("pod,container,scratch,exec,list");
    app.add_option("-n,--iterations", options.iterations,
                   "timed iterations per scenario and endpoint")
        ->default_val(options.iterations)
        ->check(CLI::PositiveNumber);
    app.add_option("--rounds", options.rounds,
                   "rounds the iterations are split into, alternating between endpoints")
        ->default_val(options.rounds)
        ->check(CLI::PositiveNumber);
    app.add_option("-c,--concurrency", options.concurrency, "workers running iterations at once")
        ->default_val(options.concurrency)
        ->check(CLI::PositiveNumber);
    app.add_option("-w,--warmup", options.warmup,
                   "iterations run first on each endpoint and not timed")
        ->default_val(options.warmup)
        ->check(CLI::NonNegativeNumber);
    app.add_option("-i,--image", options.image,
                   "container image (pulled beforehand, untimed, where missing)");
    app.add_option("--runtime-handler", options.runtime_handler,
                   "RunPodSandbox runtime_handler (\"\": the endpoint's default)");
    app.add_option("--stop-timeout", options.stop_timeout, "StopContainer timeout, seconds")
        ->default_val(options.stop_timeout)
        ->check(CLI::NonNegativeNumber);
    app.add_option("--command", options.command,
                   "what each container runs, through the image's sh -c")
        ->default_str(options.command);
    app.add_option("--exec-command", exec_command, "the ExecSync command (split at spaces)")
        ->default_str("true");
    app.add_option("--list-objects", options.list_objects,
                   "list: pods (one running container each) present while listing")
        ->default_val(options.list_objects)
        ->check(CLI::PositiveNumber);
    app.add_option("--pods", options.pods, "density: pods started, one container each")
        ->default_val(options.pods)
        ->check(CLI::PositiveNumber);
    app.add_option("--density-runs", options.density_runs,
                   "density: runs per endpoint, alternating")
        ->default_val(options.density_runs)
        ->check(CLI::PositiveNumber);
    app.add_option("--hold", options.hold_seconds,
                   "density: seconds the pods are held running while memory is sampled")
        ->default_val(options.hold_seconds)
        ->check(CLI::NonNegativeNumber);
    app.add_option("--pull-image", options.pull_images,
                   "pull: image to pull and remove, repeatable (default: --image)");
    app.add_flag("--host-network", options.host_network,
                 "pods share the node's network namespace (no CNI)");
    app.add_option("--cgroup-root", options.cgroup_root,
                   "pods' cgroups go below <root>/kubepods/besteffort (\"\": no cgroup_parent)")
        ->default_str(options.cgroup_root);
    app.add_option("--cgroup-driver", options.cgroup_driver,
                   "cgroupfs (a path, made and removed by berth-bench) or systemd (a slice "
                   "name); must match the endpoints' cgroup manager")
        ->default_str(options.cgroup_driver)
        ->check(CLI::IsMember({"cgroupfs", "systemd"}));
    app.add_option("--timeout", timeout_seconds, "deadline of each call, seconds")
        ->default_val(timeout_seconds)
        ->check(CLI::PositiveNumber);
    app.add_option("--daemon-pid", daemon_pids,
                   "pid of each endpoint's daemon, in -r order (default: the socket's peer)");
    app.add_option("--monitor", monitors,
                   "comma-separated program names counted as per-container monitors")
        ->default_str("berth-conmon,conmon,containerd-shim");
    app.add_option("--log-dir", options.log_dir,
                   "where pod log directories go (default: a temporary directory, removed)");
    app.add_option("--json", options.json_file, "write every raw sample and figure as JSON");
    app.add_flag("-q,--quiet", options.quiet, "no progress lines on stderr");

    try {
        app.parse(argc, argv);
        options.endpoints.clear();
        for (const auto& text : endpoints)
            options.endpoints.push_back(parse_endpoint(text));
        if (daemon_pids.size() > options.endpoints.size())
            throw CLI::ValidationError("--daemon-pid", "more pids than endpoints");
        for (std::size_t i = 0; i < daemon_pids.size(); ++i)
            options.endpoints[i].daemon_pid = daemon_pids[i];
        if (!scenarios.empty()) {
            options.scenarios.clear();
            std::stringstream list(scenarios);
            for (std::string name; std::getline(list, name, ',');) {
                if (name == "all") {
                    options.scenarios = kAllScenarios;
                    break;
                }
                if (std::find(kAllScenarios.begin(), kAllScenarios.end(), name) ==
                    kAllScenarios.end()) {
                    throw CLI::ValidationError("--scenario", "unknown scenario \"" + name + "\"");
                }
                if (std::find(options.scenarios.begin(), options.scenarios.end(), name) ==
                    options.scenarios.end())
                    options.scenarios.push_back(name);
            }
        }
        if (!exec_command.empty())
            options.exec_command = split_words(exec_command);
        if (options.exec_command.empty())
            throw CLI::ValidationError("--exec-command", "empty command");
        if (!monitors.empty()) {
            options.monitor_names.clear();
            std::stringstream list(monitors);
            for (std::string name; std::getline(list, name, ',');)
                if (!name.empty())
                    options.monitor_names.push_back(name);
        }
        options.timeout = std::chrono::seconds(timeout_seconds);
        options.rounds = std::min(options.rounds, options.iterations);
        const bool needs_image = std::any_of(options.scenarios.begin(), options.scenarios.end(),
                                             [](const std::string& name) { return name != "pod"; });
        if (needs_image && options.image.empty() &&
            !(options.scenarios.size() == 1 && options.scenarios[0] == "pull" &&
              !options.pull_images.empty())) {
            throw CLI::ValidationError("--image", "the chosen scenarios need an --image");
        }
        if (options.pull_images.empty() && !options.image.empty())
            options.pull_images.push_back(options.image);
    } catch (const CLI::ParseError& error) {
        const int code = app.exit(error);
        return code == 0 ? 0 : 2;
    } catch (const std::invalid_argument& error) {
        std::cerr << "berth-bench: " << error.what() << "\n";
        return 2;
    }
    return -1;
}

}  // namespace berth::bench
