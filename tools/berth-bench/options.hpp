// berth-bench's command line: which endpoints, which scenarios, how many
// iterations and with what containers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace berth::bench {

inline const std::vector<std::string> kAllScenarios = {"pod",  "container", "scratch", "exec",
                                                       "list", "density",   "pull"};
// density (hundreds of containers) and pull (removes the image) are asked for
// by name; the rest are cheap and leave the endpoint as they found it.
inline const std::vector<std::string> kDefaultScenarios = {"pod", "container", "scratch", "exec",
                                                           "list"};

struct EndpointSpec {
    std::string label;        // as given before '=', else found from the daemon
    std::string uri;          // as given: unix:///path
    std::string socket_path;  // /path
    pid_t daemon_pid = 0;     // --daemon-pid, else 0: found through the socket
};

struct Options {
    std::vector<EndpointSpec> endpoints;
    std::vector<std::string> scenarios = kDefaultScenarios;
    int iterations = 20;
    int rounds = 4;
    int concurrency = 1;
    int warmup = 2;
    std::string image;
    std::string runtime_handler;
    int stop_timeout = 10;
    // Run by the image's sh: it ends promptly on SIGTERM, as a well-behaved
    // workload does, so that StopContainer measures a graceful stop.
    std::string command = "trap 'exit 0' TERM; sleep 3600 & wait";
    std::vector<std::string> exec_command = {"true"};
    int list_objects = 20;
    int pods = 100;
    int density_runs = 1;
    double hold_seconds = 5;
    std::vector<std::string> pull_images;
    bool host_network = false;
    // kubelet's --cgroup-root and --cgroup-driver: pods get the cgroup
    // "<root>/kubepods/besteffort/pod<uid>" (or its slice). Not kubelet's own
    // root "/": a kubelet on the same node removes pod cgroups it does not know.
    std::string cgroup_root = "/berth-bench";
    std::string cgroup_driver = "cgroupfs";
    std::chrono::seconds timeout{120};
    std::string json_file;
    std::string log_dir;  // "" = a temporary directory of the run's own
    std::vector<std::string> monitor_names = {"berth-conmon", "conmon", "containerd-shim"};
    bool quiet = false;
};

// "unix:///run/x.sock", "unix:/run/x.sock" or "/run/x.sock" -> "/run/x.sock".
// Throws std::invalid_argument for anything else.
std::string socket_path_of(const std::string& endpoint);

// "[LABEL=]ENDPOINT". Throws std::invalid_argument.
EndpointSpec parse_endpoint(const std::string& text);

// Parses argv. Returns the exit code to leave with when parsing ended the
// run (--help: 0, a bad option: 2 with the message on stderr), else -1.
int parse_options(int argc, char** argv, Options& options);

}  // namespace berth::bench
