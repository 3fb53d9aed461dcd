// One CRI endpoint under test: its gRPC channel and stubs, the daemon behind
// the socket and what it calls itself.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "berth/cri_api.hpp"
#include "options.hpp"

namespace berth::bench {

// The pid of the process that listens on a unix socket, by connecting to it
// and asking for the peer's credentials (SO_PEERCRED). 0, with `error` set,
// when that fails.
pid_t socket_peer_pid(const std::string& socket_path, std::string& error);

class Endpoint {
public:
    explicit Endpoint(EndpointSpec spec);

    // Checks that the endpoint answers Version within `deadline` and finds its
    // daemon's pid. Returns "" when it does, else why not.
    std::string connect(std::chrono::seconds deadline);

    const EndpointSpec& spec() const { return spec_; }
    const std::string& label() const { return spec_.label; }
    void set_label(std::string label) { spec_.label = std::move(label); }
    pid_t daemon_pid() const { return spec_.daemon_pid; }
    const std::string& runtime_name() const { return runtime_name_; }
    const std::string& runtime_version() const { return runtime_version_; }

    runtime::v1::RuntimeService::Stub& runtime() { return *runtime_; }
    runtime::v1::ImageService::Stub& image() { return *image_; }

private:
    EndpointSpec spec_;
    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
    std::unique_ptr<runtime::v1::ImageService::Stub> image_;
    std::string runtime_name_;
    std::string runtime_version_;
};

}  // namespace berth::bench
