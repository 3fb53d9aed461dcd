// The CRI calls berth-bench makes, each timed from the moment the request
// leaves until the reply is in, with the deadline --timeout gives.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "endpoint.hpp"
#include "recorder.hpp"

namespace berth::bench {

struct Outcome {
    grpc::Status status;
    double ms = 0;
    bool ok() const { return status.ok(); }
};

// Adds the outcome to `recorder` under `operation`: its time when it
// succeeded, else an error "operation: CODE: message". Returns ok().
bool record(Recorder& recorder, const std::string& operation, const Outcome& outcome);
// The same for calls that are not measured (setting up, tearing down): only
// a failure is recorded, as an error of "setup: operation" or the like.
bool record_untimed(Recorder& recorder, const std::string& operation, const Outcome& outcome);

class CriClient {
public:
    CriClient(Endpoint& endpoint, std::chrono::seconds timeout)
        : endpoint_(endpoint), timeout_(timeout) {}

    Endpoint& endpoint() { return endpoint_; }

    Outcome run_pod(const runtime::v1::PodSandboxConfig& config, const std::string& handler,
                    std::string* id);
    Outcome pod_status(const std::string& id);
    Outcome stop_pod(const std::string& id);
    Outcome remove_pod(const std::string& id);
    Outcome create_container(const std::string& pod_id,
                             const runtime::v1::PodSandboxConfig& pod_config,
                             const runtime::v1::ContainerConfig& config, std::string* id);
    Outcome start_container(const std::string& id);
    // Fails (FAILED_PRECONDITION) unless the container is running: a
    // container that exited at once would otherwise look fast.
    Outcome container_status_running(const std::string& id);
    Outcome stop_container(const std::string& id, int timeout_seconds);
    Outcome remove_container(const std::string& id);
    // Fails unless the command exits 0.
    Outcome exec_sync(const std::string& id, const std::vector<std::string>& command);
    // The cheapest call there is: the gRPC round trip, a floor for the others.
    Outcome version();
    Outcome list_pods(std::size_t* count);
    Outcome list_containers(std::size_t* count, bool running_only = false);
    Outcome image_present(const std::string& image, bool* present);
    Outcome pull_image(const std::string& image);
    Outcome remove_image(const std::string& image);

private:
    template <typename Stub, typename Request, typename Response>
    Outcome call(Stub& stub,
                 grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                 const Request& request, Response* response,
                 std::chrono::seconds extra = std::chrono::seconds(0));

    Endpoint& endpoint_;
    std::chrono::seconds timeout_;
};

}  // namespace berth::bench
