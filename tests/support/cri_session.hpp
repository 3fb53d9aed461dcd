// The CRI calls integration tests make over and over, on one berthd: a pod on
// the host network (optionally with a cgroup parent), busybox containers
// from the test registry, and their lifecycle. Each call fails the test
// (EXPECT) when it fails, and returns what it got.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "berth/cri_api.hpp"
#include "berthd_instance.hpp"

namespace berth::test {

class CriSession {
public:
    explicit CriSession(const BerthdInstance& daemon)
        : daemon_(daemon), runtime_(daemon.runtime()), images_(daemon.image()) {}

    runtime::v1::RuntimeService::Stub& runtime() { return *runtime_; }

    void pull(const std::string& image) {
        const auto status = try_pull(image);
        EXPECT_TRUE(status.ok()) << image << ": " << status.error_message();
    }

    // A pull that may fail (or be cut off when berthd goes away).
    grpc::Status try_pull(const std::string& image,
                          std::chrono::milliseconds limit = std::chrono::seconds(60)) {
        runtime::v1::PullImageRequest request;
        request.mutable_image()->set_image(image);
        runtime::v1::PullImageResponse response;
        auto context = deadline_context(limit);
        return images_->PullImage(context.get(), request, &response);
    }

    // The pod run_pod() runs: on the host network, its log directory below
    // the daemon's; a test may change it and run it with run_pod_config().
    runtime::v1::PodSandboxConfig pod_config(const std::string& name) const {
        runtime::v1::PodSandboxConfig config;
        config.mutable_metadata()->set_name(name);
        config.mutable_metadata()->set_namespace_("default");
        config.mutable_metadata()->set_uid(name + "-uid");
        config.set_log_directory(daemon_.dir() / ("logs/" + name));
        config.mutable_linux()
            ->mutable_security_context()
            ->mutable_namespace_options()
            ->set_network(runtime::v1::NODE);
        return config;
    }

    // Gives `config` a user namespace of its own (mode POD): ids 0..length-1
    // inside are host_id.. outside, for users and groups alike. Its network,
    // IPC and PID namespaces become the pod's, as a user namespace needs.
    static void use_pod_user_namespace(runtime::v1::PodSandboxConfig& config, std::uint32_t host_id,
                                       std::uint32_t length) {
        auto* namespaces =
            config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
        namespaces->set_network(runtime::v1::POD);
        namespaces->set_ipc(runtime::v1::POD);
        namespaces->set_pid(runtime::v1::CONTAINER);
        auto* userns = namespaces->mutable_userns_options();
        userns->set_mode(runtime::v1::POD);
        userns->clear_uids();
        userns->clear_gids();
        for (auto* ids : {userns->add_uids(), userns->add_gids()}) {
            ids->set_container_id(0);
            ids->set_host_id(host_id);
            ids->set_length(length);
        }
    }

    // Runs `config` as it is and returns the answer; on success the pod's
    // id is in `id` and its containers get `config` as their sandbox_config.
    grpc::Status run_pod_config(const runtime::v1::PodSandboxConfig& config, std::string* id,
                                const std::string& handler = "") {
        runtime::v1::RunPodSandboxRequest request;
        request.set_runtime_handler(handler);
        *request.mutable_config() = config;
        return run_pod(request, id);
    }

    // A pod on the host network; with `cgroup_parent` it gets its own
    // cgroup below that parent; `handler` "" is the daemon's default.
    std::string run_pod(const std::string& name, const std::string& cgroup_parent = "",
                        const std::string& handler = "") {
        auto config = pod_config(name);
        if (!cgroup_parent.empty())
            config.mutable_linux()->set_cgroup_parent(cgroup_parent);
        std::string id;
        const auto status = run_pod_config(config, &id, handler);
        EXPECT_TRUE(status.ok()) << "RunPodSandbox " << name << " (runtime handler \"" << handler
                                 << "\"): " << status.error_message();
        return id;
    }

    // Any RunPodSandbox request, with the client giving up after `timeout`
    // (as kubelet does after its runtime request timeout).
    grpc::Status run_pod(const runtime::v1::RunPodSandboxRequest& request, std::string* id,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
        runtime::v1::RunPodSandboxResponse response;
        auto context = deadline_context(timeout);
        const auto status = runtime_->RunPodSandbox(context.get(), request, &response);
        *id = response.pod_sandbox_id();
        if (!id->empty())
            pod_configs_[*id] = request.config();
        return status;
    }

    static runtime::v1::ContainerConfig container(const std::string& name, const std::string& image,
                                                  const std::vector<std::string>& command) {
        runtime::v1::ContainerConfig config;
        config.mutable_metadata()->set_name(name);
        config.mutable_image()->set_image(image);
        for (const auto& part : command)
            config.add_command(part);
        config.set_log_path(name + ".log");
        return config;
    }

    // The client gives up after `timeout`.
    grpc::Status create(const std::string& pod, const runtime::v1::ContainerConfig& config,
                        std::string* id,
                        std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
        runtime::v1::CreateContainerRequest request;
        request.set_pod_sandbox_id(pod);
        *request.mutable_config() = config;
        *request.mutable_sandbox_config() = pod_configs_[pod];
        runtime::v1::CreateContainerResponse response;
        auto context = deadline_context(timeout);
        const auto status = runtime_->CreateContainer(context.get(), request, &response);
        *id = response.container_id();
        return status;
    }

    grpc::Status start(const std::string& id) {
        runtime::v1::StartContainerRequest request;
        request.set_container_id(id);
        runtime::v1::StartContainerResponse response;
        auto context = deadline_context(std::chrono::seconds(60));
        return runtime_->StartContainer(context.get(), request, &response);
    }

    grpc::Status stop(const std::string& id, std::int64_t timeout = 0) {
        runtime::v1::StopContainerRequest request;
        request.set_container_id(id);
        request.set_timeout(timeout);
        runtime::v1::StopContainerResponse response;
        auto context = deadline_context(std::chrono::seconds(60));
        return runtime_->StopContainer(context.get(), request, &response);
    }

    grpc::Status remove(const std::string& id) {
        runtime::v1::RemoveContainerRequest request;
        request.set_container_id(id);
        runtime::v1::RemoveContainerResponse response;
        auto context = deadline_context(std::chrono::seconds(60));
        return runtime_->RemoveContainer(context.get(), request, &response);
    }

    // Creates and starts; "" (and a test failure) when either fails.
    std::string run(const std::string& pod, const runtime::v1::ContainerConfig& config) {
        std::string id;
        const auto created = create(pod, config, &id);
        EXPECT_TRUE(created.ok()) << created.error_message() << daemon_.log();
        if (!created.ok())
            return "";
        const auto started = start(id);
        EXPECT_TRUE(started.ok()) << started.error_message();
        return started.ok() ? id : "";
    }

    grpc::Status reopen_log(const std::string& id) {
        runtime::v1::ReopenContainerLogRequest request;
        request.set_container_id(id);
        runtime::v1::ReopenContainerLogResponse response;
        auto context = deadline_context();
        return runtime_->ReopenContainerLog(context.get(), request, &response);
    }

    grpc::Status checkpoint(const std::string& id, const std::string& location) {
        runtime::v1::CheckpointContainerRequest request;
        request.set_container_id(id);
        request.set_location(location);
        runtime::v1::CheckpointContainerResponse response;
        auto context = deadline_context(std::chrono::seconds(120));
        return runtime_->CheckpointContainer(context.get(), request, &response);
    }

    // `timeout` is the CRI's (0: none); the call itself gives up after `limit`.
    grpc::Status exec_sync(const std::string& id, const std::vector<std::string>& command,
                           std::int64_t timeout, runtime::v1::ExecSyncResponse* response,
                           std::chrono::milliseconds limit = std::chrono::seconds(60)) {
        runtime::v1::ExecSyncRequest request;
        request.set_container_id(id);
        for (const auto& part : command)
            request.add_cmd(part);
        request.set_timeout(timeout);
        auto context = deadline_context(limit);
        return runtime_->ExecSync(context.get(), request, response);
    }

    grpc::Status remove_image(const std::string& image) {
        runtime::v1::RemoveImageRequest request;
        request.mutable_image()->set_image(image);
        runtime::v1::RemoveImageResponse response;
        auto context = deadline_context(std::chrono::seconds(60));
        return images_->RemoveImage(context.get(), request, &response);
    }

    // `sh -c shell_command` in the container; its stdout, with stderr and
    // the exit code appended (after "|exit ") when it fails.
    std::string shell(const std::string& id, const std::string& shell_command) {
        runtime::v1::ExecSyncResponse response;
        const auto result = exec_sync(id, {"sh", "-c", shell_command}, 30, &response);
        EXPECT_TRUE(result.ok()) << shell_command << ": " << result.error_message();
        if (response.exit_code() == 0)
            return response.stdout();
        return response.stdout() + response.stderr() + "|exit " +
               std::to_string(response.exit_code());
    }

    runtime::v1::ContainerStatusResponse status(const std::string& id, bool verbose = false) {
        runtime::v1::ContainerStatusRequest request;
        request.set_container_id(id);
        request.set_verbose(verbose);
        runtime::v1::ContainerStatusResponse response;
        auto context = deadline_context();
        const auto result = runtime_->ContainerStatus(context.get(), request, &response);
        EXPECT_TRUE(result.ok()) << result.error_message();
        return response;
    }

    runtime::v1::PodSandboxStatusResponse pod_status(const std::string& id, bool verbose = false) {
        runtime::v1::PodSandboxStatusRequest request;
        request.set_pod_sandbox_id(id);
        request.set_verbose(verbose);
        runtime::v1::PodSandboxStatusResponse response;
        auto context = deadline_context();
        const auto result = runtime_->PodSandboxStatus(context.get(), request, &response);
        EXPECT_TRUE(result.ok()) << result.error_message();
        return response;
    }

    grpc::Status stop_pod(const std::string& id) {
        runtime::v1::StopPodSandboxRequest request;
        request.set_pod_sandbox_id(id);
        runtime::v1::StopPodSandboxResponse response;
        auto context = deadline_context(std::chrono::seconds(60));
        return runtime_->StopPodSandbox(context.get(), request, &response);
    }

    grpc::Status remove_pod(const std::string& id) {
        runtime::v1::RemovePodSandboxRequest request;
        request.set_pod_sandbox_id(id);
        runtime::v1::RemovePodSandboxResponse response;
        auto context = deadline_context(std::chrono::seconds(60));
        return runtime_->RemovePodSandbox(context.get(), request, &response);
    }

    std::vector<runtime::v1::PodSandbox> pods() {
        runtime::v1::ListPodSandboxResponse response;
        auto context = deadline_context();
        const auto result = runtime_->ListPodSandbox(context.get(), {}, &response);
        EXPECT_TRUE(result.ok()) << result.error_message();
        return {response.items().begin(), response.items().end()};
    }

    std::vector<runtime::v1::Container> containers() {
        runtime::v1::ListContainersResponse response;
        auto context = deadline_context();
        const auto result = runtime_->ListContainers(context.get(), {}, &response);
        EXPECT_TRUE(result.ok()) << result.error_message();
        return {response.containers().begin(), response.containers().end()};
    }

    // Removes every pod (and so every container) through the API, so that
    // nothing outlives the test.
    void remove_all_pods() {
        runtime::v1::ListPodSandboxResponse pods;
        auto context = deadline_context(std::chrono::seconds(60));
        if (!runtime_->ListPodSandbox(context.get(), {}, &pods).ok())
            return;
        for (const auto& pod : pods.items()) {
            runtime::v1::RemovePodSandboxRequest request;
            request.set_pod_sandbox_id(pod.id());
            runtime::v1::RemovePodSandboxResponse response;
            auto remove_context = deadline_context(std::chrono::seconds(60));
            (void)runtime_->RemovePodSandbox(remove_context.get(), request, &response);
        }
    }

private:
    const BerthdInstance& daemon_;
    std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
    std::unique_ptr<runtime::v1::ImageService::Stub> images_;
    // What each pod was run with: CreateContainer passes it along.
    std::map<std::string, runtime::v1::PodSandboxConfig> pod_configs_;
};

}  // namespace berth::test
