// A real berthd in a temporary root, driven over its unix socket.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"

namespace v1 = runtime::v1;
using berth::test::BerthdInstance;
using berth::test::BerthdOptions;
using berth::test::deadline_context;
using namespace std::chrono_literals;

namespace {

v1::VersionResponse version(v1::RuntimeService::Stub& stub, grpc::Status* status = nullptr) {
    v1::VersionRequest request;
    v1::VersionResponse response;
    auto result = stub.Version(deadline_context().get(), request, &response);
    if (status != nullptr) {
        *status = result;
    } else {
        EXPECT_TRUE(result.ok()) << result.error_message();
    }
    return response;
}

// A unix socket file with nobody listening, as a crashed daemon leaves it.
void make_stale_socket(const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    close(fd);
}

}  // namespace

TEST(Berthd, ServesVersionAndStatus) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    auto stub = berthd.runtime();
    const auto response = version(*stub);
    EXPECT_EQ(response.runtime_name(), "berth");
    EXPECT_EQ(response.runtime_api_version(), "v1");

    v1::StatusRequest request;
    request.set_verbose(true);
    v1::StatusResponse status;
    ASSERT_TRUE(stub->Status(deadline_context().get(), request, &status).ok());
    ASSERT_EQ(status.status().conditions_size(), 2);
    EXPECT_EQ(status.status().conditions(0).type(), "RuntimeReady");
    EXPECT_TRUE(status.status().conditions(0).status());
    EXPECT_EQ(status.status().conditions(1).type(), "NetworkReady");
    EXPECT_FALSE(status.status().conditions(1).status());  // the test's net.d is empty
    const auto config = nlohmann::json::parse(status.info().at("config"));
    EXPECT_EQ(config["berth"]["root"], berthd.dir() / "root");
    EXPECT_EQ(config["berth"]["api"]["listen"], berthd.socket_path());

    v1::RuntimeConfigRequest config_request;
    v1::RuntimeConfigResponse config_response;
    ASSERT_TRUE(
        stub->RuntimeConfig(deadline_context().get(), config_request, &config_response).ok());
    EXPECT_EQ(config_response.linux().cgroup_driver(), v1::CGROUPFS);

    v1::UpdateRuntimeConfigRequest update;
    update.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.88.0.0/16");
    v1::UpdateRuntimeConfigResponse update_response;
    ASSERT_TRUE(stub->UpdateRuntimeConfig(deadline_context().get(), update, &update_response).ok());
    update.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("not-a-cidr");
    EXPECT_EQ(
        stub->UpdateRuntimeConfig(deadline_context().get(), update, &update_response).error_code(),
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(Berthd, EveryRpcIsBuiltAndNamesItselfInItsErrors) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    auto rt = berthd.runtime();

    // u(): a unary call with an empty request; s(): a server-streaming one,
    // read to its end.
    using Call = std::function<grpc::Status()>;
    auto u = [&](auto method, auto* stub, auto request, auto response) -> Call {
        return
            [=]() mutable { return (stub->*method)(deadline_context().get(), request, &response); };
    };
    auto s = [&](auto method, auto* stub, auto request, auto response) -> Call {
        return [=]() mutable {
            auto context = deadline_context();
            auto reader = (stub->*method)(context.get(), request);
            while (reader->Read(&response)) {
            }
            return reader->Finish();
        };
    };
    auto* r = rt.get();
    using RS = v1::RuntimeService::Stub;
    const std::vector<std::pair<std::string, Call>> calls = {
        {"Exec", u(&RS::Exec, r, v1::ExecRequest{}, v1::ExecResponse{})},
        {"Attach", u(&RS::Attach, r, v1::AttachRequest{}, v1::AttachResponse{})},
        {"PortForward",
         u(&RS::PortForward, r, v1::PortForwardRequest{}, v1::PortForwardResponse{})},
        {"ContainerStats",
         u(&RS::ContainerStats, r, v1::ContainerStatsRequest{}, v1::ContainerStatsResponse{})},
        {"ListContainerStats", u(&RS::ListContainerStats, r, v1::ListContainerStatsRequest{},
                                 v1::ListContainerStatsResponse{})},
        {"StreamContainerStats", s(&RS::StreamContainerStats, r, v1::StreamContainerStatsRequest{},
                                   v1::StreamContainerStatsResponse{})},
        {"PodSandboxStats",
         u(&RS::PodSandboxStats, r, v1::PodSandboxStatsRequest{}, v1::PodSandboxStatsResponse{})},
        {"ListPodSandboxStats", u(&RS::ListPodSandboxStats, r, v1::ListPodSandboxStatsRequest{},
                                  v1::ListPodSandboxStatsResponse{})},
        {"StreamPodSandboxStats",
         s(&RS::StreamPodSandboxStats, r, v1::StreamPodSandboxStatsRequest{},
           v1::StreamPodSandboxStatsResponse{})},
        {"ListMetricDescriptors",
         u(&RS::ListMetricDescriptors, r, v1::ListMetricDescriptorsRequest{},
           v1::ListMetricDescriptorsResponse{})},
        {"ListPodSandboxMetrics",
         u(&RS::ListPodSandboxMetrics, r, v1::ListPodSandboxMetricsRequest{},
           v1::ListPodSandboxMetricsResponse{})},
        {"StreamPodSandboxMetrics",
         s(&RS::StreamPodSandboxMetrics, r, v1::StreamPodSandboxMetricsRequest{},
           v1::StreamPodSandboxMetricsResponse{})},
    };
    // All 41 RPCs are built (their behaviour is tested in sandbox_test,
    // image_test, container_test, streaming_test, stats_test, events_test and
    // resources_test). Here: none of these answers UNIMPLEMENTED to an empty
    // request any more, and a refusal names the RPC.
    ASSERT_EQ(calls.size(), 12u);
    for (const auto& [name, call] : calls) {
        const grpc::Status status = call();
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << name;
        if (!status.ok()) {
            EXPECT_NE(status.error_message().find(name), std::string::npos)
                << name << ": " << status.error_message();
        }
    }
    // The daemon is still healthy afterwards.
    version(*rt);
}

TEST(Berthd, SocketIsMode0660InACreatedDirectory) {
    BerthdInstance berthd;
    ASSERT_FALSE(std::filesystem::exists(berthd.dir() / "run"));
    ASSERT_TRUE(berthd.start()) << berthd.log();
    struct stat info {};
    ASSERT_EQ(stat(berthd.socket_path().c_str(), &info), 0);
    EXPECT_TRUE(S_ISSOCK(info.st_mode));
    EXPECT_EQ(info.st_mode & 07777, 0660u);
}

TEST(Berthd, SecondDaemonOnALiveSocketIsRefused) {
    BerthdInstance first;
    ASSERT_TRUE(first.start()) << first.log();

    // Same socket, different root: must not steal the socket.
    BerthdOptions options;
    options.extra_args = {"--listen", first.socket_path()};
    BerthdInstance second(options);
    EXPECT_FALSE(second.start());
    EXPECT_EQ(second.process().wait_for_exit(10s), 1);
    EXPECT_NE(second.log().find("another daemon is already listening"), std::string::npos)
        << second.log();
    // The first one still serves on it.
    auto stub = first.runtime();
    EXPECT_EQ(version(*stub).runtime_name(), "berth");
}

TEST(Berthd, StaleSocketIsReplaced) {
    BerthdInstance berthd;
    make_stale_socket(berthd.socket_path());
    ASSERT_TRUE(berthd.start()) << berthd.log();
    auto stub = berthd.runtime();
    EXPECT_EQ(version(*stub).runtime_name(), "berth");
}

TEST(Berthd, RegularFileAtSocketPathIsNotTouched) {
    BerthdInstance berthd;
    berthd.dir().write("run/berth.sock", "precious");
    EXPECT_FALSE(berthd.start());
    EXPECT_EQ(berthd.process().wait_for_exit(10s), 1);
    EXPECT_NE(berthd.log().find("exists and is not a socket"), std::string::npos) << berthd.log();
    EXPECT_EQ(berth::test::read_file(berthd.socket_path()), "precious");
}

TEST(Berthd, SigtermStopsPromptlyWithExitZero) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    const auto started = std::chrono::steady_clock::now();
    berthd.process().signal(SIGTERM);
    EXPECT_TRUE(berthd.notify().wait_for("STOPPING=1", 5s));
    EXPECT_EQ(berthd.process().wait_for_exit(5s), 0) << berthd.log();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    EXPECT_FALSE(std::filesystem::exists(berthd.socket_path()));
}

TEST(Berthd, SigintStopsWithExitZero) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    berthd.process().signal(SIGINT);
    EXPECT_EQ(berthd.process().wait_for_exit(5s), 0) << berthd.log();
}

TEST(Berthd, ClientsBusyDuringShutdownSeeOnlyServerGoingAway) {
    // A client calling in a loop while SIGTERM arrives: each call either
    // completes, or is refused as the server goes away (UNAVAILABLE, or
    // CANCELLED for a call queued but not yet started); nothing else, and the
    // daemon still exits 0.
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    auto stub = berthd.runtime();
    version(*stub);  // connection established
    std::atomic<bool> stop{false};
    std::atomic<int> completed{0};
    std::atomic<int> failures{0};
    std::string failure;
    std::thread caller([&] {
        while (!stop) {
            grpc::Status status;
            version(*stub, &status);
            const auto code = status.error_code();
            if (status.ok()) {
                ++completed;
            } else if (code != grpc::StatusCode::UNAVAILABLE &&
                       code != grpc::StatusCode::CANCELLED) {
                if (failures++ == 0) {
                    failure = std::to_string(code) + " " + status.error_message();
                }
            }
        }
    });
    std::this_thread::sleep_for(200ms);
    berthd.process().signal(SIGTERM);
    EXPECT_EQ(berthd.process().wait_for_exit(10s), 0) << berthd.log();
    stop = true;
    caller.join();
    EXPECT_GT(completed.load(), 0);
    EXPECT_EQ(failures.load(), 0) << failure;
}

TEST(Berthd, BadConfigStopsBeforeAnythingStarts) {
    BerthdOptions options;
    options.extra_config =
        "[berth.runtime.runtimes.odd]\nruntime_path = \"/bin/true\"\nruntime_type = \"banana\"\n";
    BerthdInstance berthd(options);
    EXPECT_FALSE(berthd.start());
    EXPECT_EQ(berthd.process().wait_for_exit(10s), 1);
    const std::string expected = berthd.config_file() + ":";
    EXPECT_NE(berthd.log().find(expected), std::string::npos) << berthd.log();
    EXPECT_NE(berthd.log().find("berth.runtime.runtimes.odd.runtime_type: must be one of"),
              std::string::npos)
        << berthd.log();
    EXPECT_FALSE(std::filesystem::exists(berthd.dir() / "run"));
    EXPECT_FALSE(std::filesystem::exists(berthd.dir() / "root"));
}

TEST(Berthd, SighupReloadsTheLogLevel) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    berthd.dir().write("berth.conf.d/50-debug.conf",
                       "[berth]\nlog_level = \"debug\"\n[berth.api]\nstream_port = 12345\n");
    berthd.process().signal(SIGHUP);
    ASSERT_TRUE(berthd.notify().wait_for("READY=1", 10s));
    const std::string log = berthd.log();
    EXPECT_NE(log.find("reload: log_level info -> debug"), std::string::npos) << log;
    EXPECT_NE(
        log.find("reload: berth.api.stream_port changed; it takes effect when berthd restarts"),
        std::string::npos)
        << log;

    auto stub = berthd.runtime();
    v1::StatusRequest request;
    request.set_verbose(true);
    v1::StatusResponse status;
    ASSERT_TRUE(stub->Status(deadline_context().get(), request, &status).ok());
    const auto config = nlohmann::json::parse(status.info().at("config"));
    EXPECT_EQ(config["berth"]["log_level"], "debug");
    EXPECT_EQ(config["berth"]["api"]["stream_port"], 0);  // not reloadable

    // A broken file on reload keeps the running configuration.
    berthd.dir().write("berth.conf.d/60-broken.conf", "[berth\n");
    berthd.process().signal(SIGHUP);
    ASSERT_TRUE(berthd.notify().wait_for("READY=1", 10s));
    EXPECT_NE(berthd.log().find("reload failed, keeping the running configuration"),
              std::string::npos);
    EXPECT_EQ(version(*stub).runtime_name(), "berth");
}

TEST(Berthd, ServesASocketPassedBySystemd) {
    berth::test::TempDir activation;
    const std::string activated_path = activation / "activated.sock";
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, activated_path.c_str(), sizeof(address.sun_path) - 1);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(listen(listener, 16), 0);

    BerthdOptions options;
    options.before_exec = [listener] {
        // As systemd does: the socket at fd 3, LISTEN_PID naming this process.
        dup2(listener, 3);
        setenv("LISTEN_FDS", "1", 1);
        setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    };
    BerthdInstance berthd(options);
    ASSERT_TRUE(berthd.start()) << berthd.log();
    close(listener);
    {
        auto stub = berthd.runtime(activated_path);
        EXPECT_EQ(version(*stub).runtime_name(), "berth");
        // The stub (and its idle connection) goes away here: an idle C++
        // client answers the server's goodbye only when its backup poller
        // wakes (every 5 s), which would slow the shutdown below.
    }
    // The configured path is not created when systemd provides the socket.
    EXPECT_FALSE(std::filesystem::exists(berthd.socket_path()));
    berthd.process().signal(SIGTERM);
    EXPECT_EQ(berthd.process().wait_for_exit(5s), 0) << berthd.log();
    // systemd owns the socket file: berthd leaves it in place.
    EXPECT_TRUE(std::filesystem::exists(activated_path));
}

TEST(Berthd, FeedsTheSystemdWatchdog) {
    BerthdOptions options;
    options.environment["WATCHDOG_USEC"] = "200000";
    BerthdInstance berthd(options);
    ASSERT_TRUE(berthd.start()) << berthd.log();
    EXPECT_TRUE(berthd.notify().wait_for("WATCHDOG=1", 2s));
    EXPECT_TRUE(berthd.notify().wait_for("WATCHDOG=1", 2s));
}

TEST(Berthd, OversizedRequestIsRejectedAndTheDaemonCarriesOn) {
    BerthdOptions options;
    options.extra_config = "[berth.api]\ngrpc_max_recv_msg_size = 4096\n";
    BerthdInstance berthd(options);
    ASSERT_TRUE(berthd.start()) << berthd.log();
    auto stub = berthd.runtime();
    v1::UpdateRuntimeConfigRequest request;
    request.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(
        std::string(8192, 'x'));
    v1::UpdateRuntimeConfigResponse response;
    const auto status = stub->UpdateRuntimeConfig(deadline_context().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    EXPECT_EQ(version(*stub).runtime_name(), "berth");
}

TEST(Berthd, GarbageOnTheSocketDoesNotHurtIt) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    for (int i = 0; i < 20; ++i) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, berthd.socket_path().c_str(), sizeof(address.sun_path) - 1);
        ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
        const std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(i * 100, '\xff');
        EXPECT_GT(write(fd, junk.data(), junk.size()), 0);
        close(fd);
    }
    auto stub = berthd.runtime();
    EXPECT_EQ(version(*stub).runtime_name(), "berth");
    EXPECT_TRUE(berthd.process().running());
}

TEST(Berthd, ManyConcurrentClients) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
        clients.emplace_back([&] {
            auto stub = berthd.runtime();  // a channel (connection) per client
            for (int n = 0; n < 50; ++n) {
                grpc::Status status;
                if (version(*stub, &status).runtime_name() == "berth" && status.ok()) {
                    ++ok;
                }
            }
        });
    }
    for (auto& client : clients) {
        client.join();
    }
    EXPECT_EQ(ok.load(), 400);
}
