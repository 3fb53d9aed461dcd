// Wire compatibility of proto/cri/api.proto with k8s.io/cri-api runtime.v1.
// The expected bytes are built by hand from upstream's field numbers; if a
// field is renumbered or retyped in our .proto, these tests fail.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "berth/cri_api.hpp"
#include "wire_encoder.hpp"

namespace v1 = runtime::v1;
namespace wire = berth::test::wire;

namespace {

std::string serialize(const google::protobuf::Message& message) {
    std::string out;
    EXPECT_TRUE(message.SerializeToString(&out));
    return out;
}

std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
        out += ' ';
    }
    return out;
}

#define EXPECT_SAME_BYTES(actual, expected) EXPECT_EQ(hex(actual), hex(expected))

}  // namespace

TEST(CriWire, ExecSyncRequestMatchesLiteralBytes) {
    v1::ExecSyncRequest request;
    request.set_container_id("abc");
    request.add_cmd("echo");
    request.add_cmd("hi");
    request.set_timeout(5);
    // container_id = 1, cmd = 2 (repeated string), timeout = 3 (int64).
    const std::string expected(
        "\x0a\x03"
        "abc"
        "\x12\x04"
        "echo"
        "\x12\x02"
        "hi"
        "\x18\x05",
        17);
    EXPECT_SAME_BYTES(serialize(request), expected);
}

TEST(CriWire, VersionResponseDecodesFromLiteralBytes) {
    const std::string bytes(
        "\x0a\x05"
        "0.1.0"
        "\x12\x05"
        "berth"
        "\x1a\x05"
        "0.1.0"
        "\x22\x02"
        "v1",
        25);
    v1::VersionResponse response;
    ASSERT_TRUE(response.ParseFromString(bytes));
    EXPECT_EQ(response.version(), "0.1.0");
    EXPECT_EQ(response.runtime_name(), "berth");
    EXPECT_EQ(response.runtime_version(), "0.1.0");
    EXPECT_EQ(response.runtime_api_version(), "v1");
}

TEST(CriWire, RunPodSandboxRequest) {
    v1::RunPodSandboxRequest request;
    auto* config = request.mutable_config();
    auto* metadata = config->mutable_metadata();
    metadata->set_name("nginx");
    metadata->set_uid("u1");
    metadata->set_namespace_("default");
    metadata->set_attempt(1);
    config->set_hostname("h");
    config->set_log_directory("/var/log/pods/x");
    auto* port = config->add_port_mappings();
    port->set_protocol(v1::UDP);
    port->set_container_port(53);
    port->set_host_port(5353);
    port->set_host_ip("127.0.0.1");
    (*config->mutable_labels())["app"] = "web";
    config->mutable_linux()->set_cgroup_parent("/kubepods/pod1");
    request.set_runtime_handler("runc");

    // PodSandboxMetadata: name = 1, uid = 2, namespace = 3, attempt = 4.
    const std::string metadata_bytes = wire::bytes(1, "nginx") + wire::bytes(2, "u1") +
                                       wire::bytes(3, "default") + wire::number(4, 1);
    // PortMapping: protocol = 1 (UDP = 1), container_port = 2, host_port = 3, host_ip = 4.
    const std::string port_bytes = wire::number(1, 1) + wire::number(2, 53) +
                                   wire::number(3, 5353) + wire::bytes(4, "127.0.0.1");
    // LinuxPodSandboxConfig: cgroup_parent = 1.
    const std::string linux_bytes = wire::bytes(1, "/kubepods/pod1");
    // PodSandboxConfig: metadata = 1, hostname = 2, log_directory = 3,
    // port_mappings = 5, labels = 6, linux = 8.
    const std::string config_bytes =
        wire::bytes(1, metadata_bytes) + wire::bytes(2, "h") + wire::bytes(3, "/var/log/pods/x") +
        wire::bytes(5, port_bytes) + wire::map_entry(6, "app", "web") + wire::bytes(8, linux_bytes);
    // RunPodSandboxRequest: config = 1, runtime_handler = 2.
    const std::string expected = wire::bytes(1, config_bytes) + wire::bytes(2, "runc");
    EXPECT_SAME_BYTES(serialize(request), expected);

    // The first bytes, computed entirely by hand: tag 0x0a, then the config's
    // length, then the metadata's tag 0x0a and length 22 (0x16).
    const std::string actual = serialize(request);
    ASSERT_GE(actual.size(), 5u);
    EXPECT_EQ(static_cast<unsigned char>(actual[0]), 0x0a);
    EXPECT_EQ(static_cast<unsigned char>(actual[2]), 0x0a);
    EXPECT_EQ(static_cast<unsigned char>(actual[3]), 0x16);
}

TEST(CriWire, CreateContainerRequestWithSecurityContext) {
    v1::CreateContainerRequest request;
    request.set_pod_sandbox_id("pod");
    auto* config = request.mutable_config();
    config->mutable_metadata()->set_name("c");
    config->mutable_metadata()->set_attempt(2);
    config->mutable_image()->set_image("busybox");
    config->add_command("sh");
    config->add_args("-c");
    config->add_args("true");
    config->set_working_dir("/w");
    auto* env = config->add_envs();
    env->set_key("A");
    env->set_value("1");
    auto* mount = config->add_mounts();
    mount->set_container_path("/data");
    mount->set_host_path("/srv");
    mount->set_readonly(true);
    mount->set_propagation(v1::PROPAGATION_BIDIRECTIONAL);
    config->set_log_path("c/0.log");
    config->set_tty(true);
    auto* linux_config = config->mutable_linux();
    auto* resources = linux_config->mutable_resources();
    resources->set_memory_limit_in_bytes(1048576);
    resources->set_oom_score_adj(-998);
    auto* security = linux_config->mutable_security_context();
    security->mutable_run_as_user()->set_value(1000);
    security->set_readonly_rootfs(true);
    security->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
    security->mutable_seccomp()->set_localhost_ref("profiles/x.json");
    security->mutable_apparmor()->set_profile_type(v1::SecurityProfile::Unconfined);
    v1::Signal sigkill{};
    ASSERT_TRUE(v1::Signal_Parse("SIGKILL", &sigkill));
    config->set_stop_signal(sigkill);
    request.mutable_sandbox_config()->mutable_metadata()->set_name("pod");

    // ContainerMetadata: name = 1, attempt = 2. ImageSpec: image = 1.
    const std::string metadata_bytes = wire::bytes(1, "c") + wire::number(2, 2);
    const std::string image_bytes = wire::bytes(1, "busybox");
    // KeyValue: key = 1, value = 2.
    const std::string env_bytes = wire::bytes(1, "A") + wire::bytes(2, "1");
    // Mount: container_path = 1, host_path = 2, readonly = 3, propagation = 5
    // (PROPAGATION_BIDIRECTIONAL = 2).
    const std::string mount_bytes =
        wire::bytes(1, "/data") + wire::bytes(2, "/srv") + wire::number(3, 1) + wire::number(5, 2);
    // LinuxContainerResources: memory_limit_in_bytes = 4, oom_score_adj = 5.
    const std::string resources_bytes = wire::number(4, 1048576) + wire::number(5, -998);
    // LinuxContainerSecurityContext: run_as_user = 5 (Int64Value.value = 1),
    // readonly_rootfs = 7, seccomp = 15, apparmor = 16 (a two-byte tag);
    // SecurityProfile: profile_type = 1 (Unconfined = 1, Localhost = 2),
    // localhost_ref = 2.
    const std::string security_bytes =
        wire::bytes(5, wire::number(1, 1000)) + wire::number(7, 1) +
        wire::bytes(15, wire::number(1, 2) + wire::bytes(2, "profiles/x.json")) +
        wire::bytes(16, wire::number(1, 1));
    // LinuxContainerConfig: resources = 1, security_context = 2.
    const std::string linux_bytes =
        wire::bytes(1, resources_bytes) + wire::bytes(2, security_bytes);
    // ContainerConfig: metadata = 1, image = 2, command = 3, args = 4,
    // working_dir = 5, envs = 6, mounts = 7, log_path = 11, tty = 14,
    // linux = 15, stop_signal = 18 (SIGKILL = 13).
    const std::string config_bytes =
        wire::bytes(1, metadata_bytes) + wire::bytes(2, image_bytes) + wire::bytes(3, "sh") +
        wire::bytes(4, "-c") + wire::bytes(4, "true") + wire::bytes(5, "/w") +
        wire::bytes(6, env_bytes) + wire::bytes(7, mount_bytes) + wire::bytes(11, "c/0.log") +
        wire::number(14, 1) + wire::bytes(15, linux_bytes) + wire::number(18, 13);
    // CreateContainerRequest: pod_sandbox_id = 1, config = 2, sandbox_config = 3.
    const std::string expected = wire::bytes(1, "pod") + wire::bytes(2, config_bytes) +
                                 wire::bytes(3, wire::bytes(1, wire::bytes(1, "pod")));
    EXPECT_SAME_BYTES(serialize(request), expected);

    // Spot checks written out literally: apparmor's tag is field 16, wire
    // type 2 = 0x82 0x01; stop_signal's is field 18, wire type 0 = 0x90 0x01.
    const std::string actual = serialize(request);
    EXPECT_NE(actual.find(std::string("\x82\x01\x02\x08\x01", 5)), std::string::npos);
    EXPECT_NE(actual.find(std::string("\x90\x01\x0d", 3)), std::string::npos);
}

TEST(CriWire, StatusAndRuntimeConfigResponses) {
    v1::StatusResponse status;
    auto* condition = status.mutable_status()->add_conditions();
    condition->set_type("RuntimeReady");
    condition->set_status(true);
    (*status.mutable_info())["k"] = "v";
    auto* handler = status.add_runtime_handlers();
    handler->set_name("runc");
    handler->mutable_features()->set_user_namespaces(true);
    status.mutable_features()->set_supplemental_groups_policy(true);
    // StatusResponse: status = 1, info = 2, runtime_handlers = 3, features = 4.
    // RuntimeStatus.conditions = 1; RuntimeCondition: type = 1, status = 2.
    // RuntimeHandler: name = 1, features = 2; RuntimeHandlerFeatures.user_namespaces = 2.
    // RuntimeFeatures.supplemental_groups_policy = 1.
    const std::string expected =
        wire::bytes(1, wire::bytes(1, wire::bytes(1, "RuntimeReady") + wire::number(2, 1))) +
        wire::map_entry(2, "k", "v") +
        wire::bytes(3, wire::bytes(1, "runc") + wire::bytes(2, wire::number(2, 1))) +
        wire::bytes(4, wire::number(1, 1));
    EXPECT_SAME_BYTES(serialize(status), expected);

    v1::RuntimeConfigResponse config;
    config.mutable_linux()->set_cgroup_driver(v1::CGROUPFS);
    // RuntimeConfigResponse.linux = 1; LinuxRuntimeConfiguration.cgroup_driver = 1;
    // CGROUPFS = 1 (SYSTEMD = 0).
    EXPECT_SAME_BYTES(serialize(config), std::string("\x0a\x02\x08\x01", 4));
}

// gRPC routes by "/runtime.v1.RuntimeService/Method": the package, service
// and method names, and which calls stream, must match upstream exactly.
TEST(CriWire, ServicesHaveUpstreamMethods) {
    struct Method {
        const char* name;
        const char* input;
        const char* output;
        bool server_streaming;
    };
    const std::vector<Method> runtime_methods = {
        {"Version", "VersionRequest", "VersionResponse", false},
        {"RunPodSandbox", "RunPodSandboxRequest", "RunPodSandboxResponse", false},
        {"StopPodSandbox", "StopPodSandboxRequest", "StopPodSandboxResponse", false},
        {"RemovePodSandbox", "RemovePodSandboxRequest", "RemovePodSandboxResponse", false},
        {"PodSandboxStatus", "PodSandboxStatusRequest", "PodSandboxStatusResponse", false},
        {"ListPodSandbox", "ListPodSandboxRequest", "ListPodSandboxResponse", false},
        {"StreamPodSandboxes", "StreamPodSandboxesRequest", "StreamPodSandboxesResponse", true},
        {"CreateContainer", "CreateContainerRequest", "CreateContainerResponse", false},
        {"StartContainer", "StartContainerRequest", "StartContainerResponse", false},
        {"StopContainer", "StopContainerRequest", "StopContainerResponse", false},
        {"RemoveContainer", "RemoveContainerRequest", "RemoveContainerResponse", false},
        {"ListContainers", "ListContainersRequest", "ListContainersResponse", false},
        {"StreamContainers", "StreamContainersRequest", "StreamContainersResponse", true},
        {"ContainerStatus", "ContainerStatusRequest", "ContainerStatusResponse", false},
        {"UpdateContainerResources", "UpdateContainerResourcesRequest",
         "UpdateContainerResourcesResponse", false},
        {"ReopenContainerLog", "ReopenContainerLogRequest", "ReopenContainerLogResponse", false},
        {"ExecSync", "ExecSyncRequest", "ExecSyncResponse", false},
        {"Exec", "ExecRequest", "ExecResponse", false},
        {"Attach", "AttachRequest", "AttachResponse", false},
        {"PortForward", "PortForwardRequest", "PortForwardResponse", false},
        {"ContainerStats", "ContainerStatsRequest", "ContainerStatsResponse", false},
        {"ListContainerStats", "ListContainerStatsRequest", "ListContainerStatsResponse", false},
        {"StreamContainerStats", "StreamContainerStatsRequest", "StreamContainerStatsResponse",
         true},
        {"PodSandboxStats", "PodSandboxStatsRequest", "PodSandboxStatsResponse", false},
        {"ListPodSandboxStats", "ListPodSandboxStatsRequest", "ListPodSandboxStatsResponse", false},
        {"StreamPodSandboxStats", "StreamPodSandboxStatsRequest", "StreamPodSandboxStatsResponse",
         true},
        {"UpdateRuntimeConfig", "UpdateRuntimeConfigRequest", "UpdateRuntimeConfigResponse", false},
        {"Status", "StatusRequest", "StatusResponse", false},
        {"CheckpointContainer", "CheckpointContainerRequest", "CheckpointContainerResponse", false},
        {"GetContainerEvents", "GetEventsRequest", "ContainerEventResponse", true},
        {"ListMetricDescriptors", "ListMetricDescriptorsRequest", "ListMetricDescriptorsResponse",
         false},
        {"ListPodSandboxMetrics", "ListPodSandboxMetricsRequest", "ListPodSandboxMetricsResponse",
         false},
        {"StreamPodSandboxMetrics", "StreamPodSandboxMetricsRequest",
         "StreamPodSandboxMetricsResponse", true},
        {"RuntimeConfig", "RuntimeConfigRequest", "RuntimeConfigResponse", false},
        {"UpdatePodSandboxResources", "UpdatePodSandboxResourcesRequest",
         "UpdatePodSandboxResourcesResponse", false},
    };
    const std::vector<Method> image_methods = {
        {"ListImages", "ListImagesRequest", "ListImagesResponse", false},
        {"StreamImages", "StreamImagesRequest", "StreamImagesResponse", true},
        {"ImageStatus", "ImageStatusRequest", "ImageStatusResponse", false},
        {"PullImage", "PullImageRequest", "PullImageResponse", false},
        {"RemoveImage", "RemoveImageRequest", "RemoveImageResponse", false},
        {"ImageFsInfo", "ImageFsInfoRequest", "ImageFsInfoResponse", false},
    };
    const auto* file = v1::VersionRequest::descriptor()->file();
    EXPECT_EQ(file->package(), "runtime.v1");
    const auto check = [&](const char* service_name, const std::vector<Method>& expected) {
        const auto* service = file->FindServiceByName(service_name);
        ASSERT_NE(service, nullptr) << service_name;
        ASSERT_EQ(service->method_count(), static_cast<int>(expected.size())) << service_name;
        for (int i = 0; i < service->method_count(); ++i) {
            const auto* method = service->method(i);
            SCOPED_TRACE(method->full_name());
            EXPECT_EQ(method->name(), expected[i].name);
            EXPECT_EQ(method->input_type()->full_name(),
                      std::string("runtime.v1.") + expected[i].input);
            EXPECT_EQ(method->output_type()->full_name(),
                      std::string("runtime.v1.") + expected[i].output);
            EXPECT_FALSE(method->client_streaming());
            EXPECT_EQ(method->server_streaming(), expected[i].server_streaming);
        }
    };
    check("RuntimeService", runtime_methods);
    check("ImageService", image_methods);
    EXPECT_EQ(runtime_methods.size() + image_methods.size(), 41u);
}
