#include "client.hpp"

#include <cstdlib>
#include <stdexcept>

namespace berth::ctl {

std::string grpc_target(const std::string& endpoint) {
    if (endpoint.rfind("unix://", 0) == 0) {
        const std::string path = endpoint.substr(7);
        if (path.empty() || path.front() != '/') {
            throw std::invalid_argument("endpoint \"" + endpoint +
                                        "\": a unix endpoint needs an absolute path");
        }
        return "unix://" + path;
    }
    if (endpoint.rfind("unix:", 0) == 0) {
        return grpc_target("unix://" + endpoint.substr(5));
    }
    if (!endpoint.empty() && endpoint.front() == '/') {
        return "unix://" + endpoint;
    }
    throw std::invalid_argument("endpoint \"" + endpoint +
                                "\" is not supported: use unix:///path/to/socket");
}

std::chrono::milliseconds parse_duration(const std::string& text) {
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        throw std::invalid_argument("timeout \"" + text + "\" is not a duration such as 2s");
    }
    const std::string unit = text.substr(used);
    double millis = 0;
    if (unit.empty() || unit == "s") {
        millis = value * 1000;
    } else if (unit == "ms") {
        millis = value;
    } else if (unit == "m") {
        millis = value * 60 * 1000;
    } else if (unit == "h") {
        millis = value * 3600 * 1000;
    } else {
        throw std::invalid_argument("timeout \"" + text + "\": unknown unit \"" + unit + "\"");
    }
    if (millis <= 0) {
        throw std::invalid_argument("timeout \"" + text + "\" must be positive");
    }
    return std::chrono::milliseconds(static_cast<long long>(millis));
}

Client::Client(const ClientOptions& options) : timeout_(parse_duration(options.timeout)) {
    endpoint_ = options.endpoint;
    if (endpoint_.empty()) {
        const char* from_environment = std::getenv("CONTAINER_RUNTIME_ENDPOINT");
        endpoint_ = from_environment && *from_environment ? from_environment : kDefaultEndpoint;
    }
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(16 * 1024 * 1024);
    channel_ = grpc::CreateCustomChannel(grpc_target(endpoint_), grpc::InsecureChannelCredentials(),
                                         arguments);
    runtime_ = runtime::v1::RuntimeService::NewStub(channel_);
    image_ = runtime::v1::ImageService::NewStub(channel_);
    berth_images_ = berth::v1::Images::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> Client::context() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + timeout_);
    return context;
}

std::string describe_failure(const std::string& rpc, const grpc::Status& status,
                             const std::string& endpoint) {
    // berthd starts its messages with the RPC's name; a message without it
    // came from the gRPC layer, so the endpoint itself is the problem. (A
    // registry that cannot be reached is UNAVAILABLE too, from berthd.)
    const bool from_berthd = status.error_message().rfind(rpc + ": ", 0) == 0;
    if (!from_berthd && (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
        return rpc + ": cannot reach " + endpoint + ": " + status.error_message();
    }
    return from_berthd ? status.error_message() : rpc + ": " + status.error_message();
}

}  // namespace berth::ctl
