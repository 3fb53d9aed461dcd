// The connection berthctl makes to a CRI endpoint, with crictl's rules for
// choosing it: --runtime-endpoint, else $CONTAINER_RUNTIME_ENDPOINT, else the
// default Berth socket.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "berth/cri_api.hpp"
#include "berth/images.grpc.pb.h"

namespace berth::ctl {

inline constexpr const char* kDefaultEndpoint = "unix:///run/berth/berth.sock";

struct ClientOptions {
    std::string endpoint;        // as given; "" = environment or default
    std::string timeout = "2s";  // crictl's default
};

// "unix:///run/x.sock", "unix:/run/x.sock" or a bare "/run/x.sock" -> a gRPC
// target. Throws std::invalid_argument for anything else.
std::string grpc_target(const std::string& endpoint);

// "2s", "500ms", "1m", "1.5s" or plain seconds. Throws std::invalid_argument.
std::chrono::milliseconds parse_duration(const std::string& text);

class Client {
public:
    explicit Client(const ClientOptions& options);

    runtime::v1::RuntimeService::Stub& runtime() { return *runtime_; }
    runtime::v1::ImageService::Stub& image() { return *image_; }
    // Berth's own image RPCs (import), on the same socket.
    ::berth::v1::Images::Stub& berth_images() { return *berth_images_; }

    // A context whose deadline is the --timeout.
    std::unique_ptr<grpc::ClientContext> context() const;

    const std::string& endpoint() const { return endpoint_; }

private:
    std::string endpoint_;
    std::chrono::milliseconds timeout_;
    std::shared_ptr<grpc::Channel> channel_;
    std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
    std::unique_ptr<runtime::v1::ImageService::Stub> image_;
    std::unique_ptr<::berth::v1::Images::Stub> berth_images_;
};

// Turns a failed call into the message berthctl prints.
std::string describe_failure(const std::string& rpc, const grpc::Status& status,
                             const std::string& endpoint);

}  // namespace berth::ctl
