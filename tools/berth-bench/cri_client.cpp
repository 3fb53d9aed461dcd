#include "cri_client.hpp"

namespace berth::bench {
namespace v1 = runtime::v1;

namespace {

const char* code_name(grpc::StatusCode code) {
    switch (code) {
    case grpc::StatusCode::OK:
        return "OK";
    case grpc::StatusCode::CANCELLED:
        return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
        return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
        return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
        return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
        return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
        return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
        return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
        return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
        return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
        return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
        return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
        return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
        return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
        return "UNAUTHENTICATED";
    default:
        return "UNKNOWN";
    }
}

std::string describe(const std::string& operation, const grpc::Status& status) {
    return operation + ": " + code_name(status.error_code()) + ": " + status.error_message();
}

}  // namespace

bool record(Recorder& recorder, const std::string& operation, const Outcome& outcome) {
    if (outcome.ok()) {
        recorder.add_sample(operation, outcome.ms);
        return true;
    }
    recorder.add_error(operation, describe(operation, outcome.status));
    return false;
}

bool record_untimed(Recorder& recorder, const std::string& operation, const Outcome& outcome) {
    if (outcome.ok())
        return true;
    recorder.add_error(operation, describe(operation, outcome.status));
    return false;
}

template <typename Stub, typename Request, typename Response>
Outcome CriClient::call(Stub& stub,
                        grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                     Response*),
                        const Request& request, Response* response, std::chrono::seconds extra) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout_ + extra);
    const auto start = std::chrono::steady_clock::now();
    Outcome outcome;
    outcome.status = (stub.*method)(&context, request, response);
    outcome.ms = elapsed_ms(start);
    return outcome;
}

Outcome CriClient::run_pod(const v1::PodSandboxConfig& config, const std::string& handler,
                           std::string* id) {
    v1::RunPodSandboxRequest request;
    *request.mutable_config() = config;
    request.set_runtime_handler(handler);
    v1::RunPodSandboxResponse response;
    auto outcome =
        call(endpoint_.runtime(), &v1::RuntimeService::Stub::RunPodSandbox, request, &response);
    *id = response.pod_sandbox_id();
    return outcome;
}

Outcome CriClient::pod_status(const std::string& id) {
    v1::PodSandboxStatusRequest request;
    request.set_pod_sandbox_id(id);
    v1::PodSandboxStatusResponse response;
    auto outcome =
        call(endpoint_.runtime(), &v1::RuntimeService::Stub::PodSandboxStatus, request, &response);
    if (outcome.ok() && response.status().state() != v1::SANDBOX_READY) {
        outcome.status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                      "pod " + id + " is not ready after RunPodSandbox");
    }
    return outcome;
}

Outcome CriClient::stop_pod(const std::string& id) {
    v1::StopPodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse response;
    return call(endpoint_.runtime(), &v1::RuntimeService::Stub::StopPodSandbox, request, &response);
}

Outcome CriClient::remove_pod(const std::string& id) {
    v1::RemovePodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse response;
    return call(endpoint_.runtime(), &v1::RuntimeService::Stub::RemovePodSandbox, request,
                &response);
}

Outcome CriClient::create_container(const std::string& pod_id,
                                    const v1::PodSandboxConfig& pod_config,
                                    const v1::ContainerConfig& config, std::string* id) {
    v1::CreateContainerRequest request;
    request.set_pod_sandbox_id(pod_id);
    *request.mutable_config() = config;
    *request.mutable_sandbox_config() = pod_config;
    v1::CreateContainerResponse response;
    auto outcome =
        call(endpoint_.runtime(), &v1::RuntimeService::Stub::CreateContainer, request, &response);
    *id = response.container_id();
    return outcome;
}

Outcome CriClient::start_container(const std::string& id) {
    v1::StartContainerRequest request;
    request.set_container_id(id);
    v1::StartContainerResponse response;
    return call(endpoint_.runtime(), &v1::RuntimeService::Stub::StartContainer, request, &response);
}

Outcome CriClient::container_status_running(const std::string& id) {
    v1::ContainerStatusRequest request;
    request.set_container_id(id);
    v1::ContainerStatusResponse response;
    auto outcome =
        call(endpoint_.runtime(), &v1::RuntimeService::Stub::ContainerStatus, request, &response);
    if (outcome.ok() && response.status().state() != v1::CONTAINER_RUNNING) {
        outcome.status = grpc::Status(
            grpc::StatusCode::FAILED_PRECONDITION,
            "container " + id + " is " + v1::ContainerState_Name(response.status().state()) +
                " after StartContainer (exit code " +
                std::to_string(response.status().exit_code()) + ", " + response.status().reason() +
                " " + response.status().message() + ")");
    }
    return outcome;
}

Outcome CriClient::stop_container(const std::string& id, int timeout_seconds) {
    v1::StopContainerRequest request;
    request.set_container_id(id);
    request.set_timeout(timeout_seconds);
    v1::StopContainerResponse response;
    return call(endpoint_.runtime(), &v1::RuntimeService::Stub::StopContainer, request, &response,
                std::chrono::seconds(timeout_seconds));
}

Outcome CriClient::remove_container(const std::string& id) {
    v1::RemoveContainerRequest request;
    request.set_container_id(id);
    v1::RemoveContainerResponse response;
    return call(endpoint_.runtime(), &v1::RuntimeService::Stub::RemoveContainer, request,
                &response);
}

Outcome CriClient::exec_sync(const std::string& id, const std::vector<std::string>& command) {
    v1::ExecSyncRequest request;
    request.set_container_id(id);
    for (const auto& arg : command)
        request.add_cmd(arg);
    request.set_timeout(timeout_.count());
    v1::ExecSyncResponse response;
    auto outcome =
        call(endpoint_.runtime(), &v1::RuntimeService::Stub::ExecSync, request, &response);
    if (outcome.ok() && response.exit_code() != 0) {
        outcome.status =
            grpc::Status(grpc::StatusCode::UNKNOWN, "the command exited with " +
                                                        std::to_string(response.exit_code()) +
                                                        ": " + response.stderr().substr(0, 200));
    }
    return outcome;
}

Outcome CriClient::version() {
    v1::VersionRequest request;
    v1::VersionResponse response;
    return call(endpoint_.runtime(), &v1::RuntimeService::Stub::Version, request, &response);
}

Outcome CriClient::list_pods(std::size_t* count) {
    v1::ListPodSandboxRequest request;
    v1::ListPodSandboxResponse response;
    auto outcome =
        call(endpoint_.runtime(), &v1::RuntimeService::Stub::ListPodSandbox, request, &response);
    *count = static_cast<std::size_t>(response.items_size());
    return outcome;
}

Outcome CriClient::list_containers(std::size_t* count, bool running_only) {
    v1::ListContainersRequest request;
    if (running_only)
        request.mutable_filter()->mutable_state()->set_state(v1::CONTAINER_RUNNING);
    v1::ListContainersResponse response;
    auto outcome =
        call(endpoint_.runtime(), &v1::RuntimeService::Stub::ListContainers, request, &response);
    *count = static_cast<std::size_t>(response.containers_size());
    return outcome;
}

Outcome CriClient::image_present(const std::string& image, bool* present) {
    v1::ImageStatusRequest request;
    request.mutable_image()->set_image(image);
    v1::ImageStatusResponse response;
    auto outcome =
        call(endpoint_.image(), &v1::ImageService::Stub::ImageStatus, request, &response);
    *present = response.has_image() && !response.image().id().empty();
    return outcome;
}

Outcome CriClient::pull_image(const std::string& image) {
    v1::PullImageRequest request;
    request.mutable_image()->set_image(image);
    v1::PullImageResponse response;
    return call(endpoint_.image(), &v1::ImageService::Stub::PullImage, request, &response);
}

Outcome CriClient::remove_image(const std::string& image) {
    v1::RemoveImageRequest request;
    request.mutable_image()->set_image(image);
    v1::RemoveImageResponse response;
    return call(endpoint_.image(), &v1::ImageService::Stub::RemoveImage, request, &response);
}

}  // namespace berth::bench
