#include "endpoint.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::bench {

pid_t socket_peer_pid(const std::string& socket_path, std::string& error) {
    sockaddr_un address{};
    if (socket_path.size() >= sizeof(address.sun_path)) {
        error = socket_path + ": path too long for a unix socket";
        return 0;
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return 0;
    }
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    pid_t pid = 0;
    ucred credentials{};
    socklen_t length = sizeof(credentials);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        error = socket_path + ": " + std::strerror(errno);
    } else if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
        error = std::string("SO_PEERCRED: ") + std::strerror(errno);
    } else {
        pid = credentials.pid;
    }
    ::close(fd);
    return pid;
}

Endpoint::Endpoint(EndpointSpec spec) : spec_(std::move(spec)) {
    grpc::ChannelArguments arguments;
    // kubelet's limit: ListContainers with many objects exceeds gRPC's 4 MiB.
    arguments.SetMaxReceiveMessageSize(16 * 1024 * 1024);
    channel_ = grpc::CreateCustomChannel(spec_.uri, grpc::InsecureChannelCredentials(), arguments);
    runtime_ = runtime::v1::RuntimeService::NewStub(channel_);
    image_ = runtime::v1::ImageService::NewStub(channel_);
}

std::string Endpoint::connect(std::chrono::seconds deadline) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    runtime::v1::VersionRequest request;
    request.set_version("v1");
    runtime::v1::VersionResponse response;
    const auto status = runtime_->Version(&context, request, &response);
    if (!status.ok()) {
        return "cannot reach " + spec_.uri + ": " + status.error_message();
    }
    runtime_name_ = response.runtime_name();
    runtime_version_ = response.runtime_version();
    if (spec_.daemon_pid == 0) {
        std::string error;
        spec_.daemon_pid = socket_peer_pid(spec_.socket_path, error);
        if (spec_.daemon_pid == 0)
            return "cannot find the daemon behind " + spec_.uri + ": " + error;
    }
    return "";
}

}  // namespace berth::bench
