// Exec, Attach and PortForward through the real streaming server of a real
// berthd, with real runc and berth-conmon: the CRI call hands out a URL, a
// client upgrades to SPDY/3.1 (berth_stream's client, as berthctl uses it)
// or WebSocket (the same client, and Python's independent `websockets`), and
// the bytes go to a process in the container or a port in the pod.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

#include "berth/stream/http_upgrade_client.hpp"
#include "berth/stream/remote_command_client.hpp"
#include "berthd_instance.hpp"
#include "temp_dir.hpp"
#include "test_pipe.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
using berth::test::BerthdInstance;
using berth::test::deadline_context;
using berth::test::run_command;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

using berth::test::Pipe;

namespace {

// A pod network of loopback only: the pod gets a network namespace of its own
// (so port forwarding must enter it) without a bridge to set up.
constexpr const char* kLoopbackNetwork =
    R"({"cniVersion":"0.4.0","name":"loopback-only","plugins":[{"type":"loopback"}]})";

// Reads a pipe to its end on a thread of its own.
class Collector {
public:
    explicit Collector(int fd)
        : thread_([this, fd] {
              char buffer[65536];
              ssize_t got;
              while ((got = ::read(fd, buffer, sizeof buffer)) > 0)
                  data_.append(buffer, static_cast<std::size_t>(got));
          }) {}
    std::string finish() {
        thread_.join();
        return data_;
    }

private:
    std::string data_;
    std::thread thread_;
};

struct SessionResult {
    berth::stream::CommandOutcome outcome;
    std::string out;
    std::string err;
};

class StreamingTest : public testing::TestWithParam<bool> {
protected:
    static void SetUpTestSuite() {
        // Pipes to sessions that ended must fail writes, not kill the test.
        ::signal(SIGPIPE, SIG_IGN);
        registry_ = new TestRegistry();
        ASSERT_TRUE(registry_->start()) << registry_->log();
        registry_->push("busybox:multi");
    }
    static void TearDownTestSuite() {
        delete registry_;
        registry_ = nullptr;
    }

    // Appended to the daemon's berth.conf.
    virtual std::string extra_config() { return ""; }

    void SetUp() override {
        berth::test::BerthdOptions options;
        options.extra_config = extra_config();
        daemon_ = std::make_unique<BerthdInstance>(options);
        daemon_->dir().write("net.d/10-loopback.conflist", kLoopbackNetwork);
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
        runtime_ = daemon_->runtime();
        images_ = daemon_->image();
        v1::PullImageRequest pull;
        pull.mutable_image()->set_image(registry_->host() + "/busybox:multi");
        v1::PullImageResponse pulled;
        auto context = deadline_context(60s);
        ASSERT_TRUE(images_->PullImage(context.get(), pull, &pulled).ok());
        pod_ = run_pod();
    }

    void TearDown() override {
        v1::ListPodSandboxResponse pods;
        auto context = deadline_context(60s);
        if (runtime_ && runtime_->ListPodSandbox(context.get(), {}, &pods).ok()) {
            for (const auto& pod : pods.items()) {
                v1::RemovePodSandboxRequest remove;
                remove.set_pod_sandbox_id(pod.id());
                v1::RemovePodSandboxResponse removed;
                auto remove_context = deadline_context(60s);
                (void)runtime_->RemovePodSandbox(remove_context.get(), remove, &removed);
            }
        }
        daemon_.reset();
    }

    bool websocket() const { return GetParam(); }
    berth::stream::StreamClientOptions client_options() const {
        berth::stream::StreamClientOptions options;
        options.websocket = websocket();
        return options;
    }

    std::string run_pod() {
        v1::RunPodSandboxRequest request;
        auto* config = request.mutable_config();
        config->mutable_metadata()->set_name("stream-pod");
        config->mutable_metadata()->set_namespace_("default");
        config->mutable_metadata()->set_uid("stream-pod-uid");
        config->set_log_directory(daemon_->dir() / "logs/stream-pod");
        pod_config_ = *config;
        v1::RunPodSandboxResponse response;
        auto context = deadline_context(60s);
        const auto status = runtime_->RunPodSandbox(context.get(), request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message() << daemon_->log();
        return response.pod_sandbox_id();
    }

    std::string run_container(const std::string& name, const std::vector<std::string>& command,
                              bool stdin = false, bool stdin_once = false, bool tty = false) {
        v1::CreateContainerRequest request;
        request.set_pod_sandbox_id(pod_);
        auto* config = request.mutable_config();
        config->mutable_metadata()->set_name(name);
        config->mutable_image()->set_image(registry_->host() + "/busybox:multi");
        for (const auto& part : command)
            config->add_command(part);
        config->set_log_path(name + ".log");
        config->set_stdin(stdin);
        config->set_stdin_once(stdin_once);
        config->set_tty(tty);
        *request.mutable_sandbox_config() = pod_config_;
        v1::CreateContainerResponse created;
        auto context = deadline_context(60s);
        const auto status = runtime_->CreateContainer(context.get(), request, &created);
        EXPECT_TRUE(status.ok()) << status.error_message() << daemon_->log();
        v1::StartContainerRequest start;
        start.set_container_id(created.container_id());
        v1::StartContainerResponse started;
        auto start_context = deadline_context(60s);
        EXPECT_TRUE(runtime_->StartContainer(start_context.get(), start, &started).ok());
        return created.container_id();
    }

    grpc::Status exec_url(const v1::ExecRequest& request, std::string* url) {
        v1::ExecResponse response;
        auto context = deadline_context(30s);
        const auto status = runtime_->Exec(context.get(), request, &response);
        *url = response.url();
        return status;
    }

    std::string exec_url(const std::string& id, const std::vector<std::string>& command,
                         bool stdin = false, bool tty = false) {
        v1::ExecRequest request;
        request.set_container_id(id);
        for (const auto& word : command)
            request.add_cmd(word);
        request.set_stdin(stdin);
        request.set_stdout(true);
        request.set_stderr(!tty);
        request.set_tty(tty);
        std::string url;
        const auto status = exec_url(request, &url);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return url;
    }

    // Runs a session with `input` (nullopt: no stdin) and collects output.
    SessionResult session(const std::string& url, std::optional<std::string> input,
                          bool tty = false,
                          std::function<std::optional<berth::stream::TerminalSize>()> resize = {}) {
        Pipe in, out, err;
        berth::stream::RemoteCommandIo io;
        io.stdin_fd = input ? in.read : -1;
        io.stdout_fd = out.write;
        io.stderr_fd = tty ? -1 : err.write;
        io.tty = tty;
        io.next_resize = std::move(resize);
        std::thread feeder;
        if (input) {
            feeder = std::thread([&] {
                std::string_view rest = *input;
                while (!rest.empty()) {
                    const ssize_t written = ::write(in.write, rest.data(), rest.size());
                    if (written <= 0)
                        break;
                    rest.remove_prefix(static_cast<std::size_t>(written));
                }
                in.close_write();
            });
        }
        Collector stdout_data(out.read), stderr_data(err.read);
        SessionResult result;
        std::exception_ptr failure;
        try {
            result.outcome = berth::stream::run_remote_command(url, io, client_options());
        } catch (...) {
            failure = std::current_exception();
        }
        out.close_write();
        err.close_write();
        in.close_read();  // a feeder still writing gets EPIPE
        result.out = stdout_data.finish();
        result.err = stderr_data.finish();
        if (feeder.joinable())
            feeder.join();
        if (failure)
            std::rethrow_exception(failure);
        return result;
    }

    static TestRegistry* registry_;
    std::unique_ptr<BerthdInstance> daemon_;
    std::unique_ptr<v1::RuntimeService::Stub> runtime_;
    std::unique_ptr<v1::ImageService::Stub> images_;
    std::string pod_;
    v1::PodSandboxConfig pod_config_;
};

TestRegistry* StreamingTest::registry_ = nullptr;

std::string random_bytes(std::size_t size) {
    std::mt19937 generator(42);
    std::string data(size, '\0');
    for (auto& byte : data)
        byte = static_cast<char>(generator());
    return data;
}

TEST_P(StreamingTest, ExecReportsOutputAndExitCodes) {
    const auto id = run_container("sleeper", {"sleep", "600"});
    const auto hi = session(exec_url(id, {"echo", "hi"}), std::nullopt);
    EXPECT_TRUE(hi.outcome.success) << hi.outcome.message;
    EXPECT_EQ(hi.out, "hi\n");

    const auto both =
        session(exec_url(id, {"sh", "-c", "echo out; echo err >&2; exit 3"}), std::nullopt);
    EXPECT_FALSE(both.outcome.success);
    ASSERT_TRUE(both.outcome.exit_code.has_value()) << both.outcome.message;
    EXPECT_EQ(*both.outcome.exit_code, 3);
    EXPECT_EQ(both.out, "out\n");
    EXPECT_EQ(both.err, "err\n");
}

TEST_P(StreamingTest, ExecPipesOneMebibyteThroughCatUnchanged) {
    const auto id = run_container("sleeper", {"sleep", "600"});
    const std::string data = random_bytes(1 << 20);
    const auto result = session(exec_url(id, {"cat"}, true), data);
    EXPECT_TRUE(result.outcome.success) << result.outcome.message;
    ASSERT_EQ(result.out.size(), data.size());
    EXPECT_TRUE(result.out == data) << "the bytes came back changed";
}

TEST_P(StreamingTest, TtyExecSeesTheClientsTerminalSize) {
    const auto id = run_container("sleeper", {"sleep", "600"});
    const auto result = session(exec_url(id, {"sh", "-c", "sleep 1; stty size"}, false, true),
                                std::nullopt, true, [] {
                                    return std::optional(berth::stream::TerminalSize{123, 45});
                                });
    EXPECT_TRUE(result.outcome.success) << result.outcome.message;
    EXPECT_NE(result.out.find("45 123"), std::string::npos) << result.out;
}

TEST_P(StreamingTest, AttachSeesOutputAndFeedsStdin) {
    const auto id = run_container(
        "reader", {"sh", "-c", "echo ready; while read line; do echo got:$line; done"}, true);
    v1::AttachRequest request;
    request.set_container_id(id);
    request.set_stdin(true);
    request.set_stdout(true);
    request.set_stderr(true);
    v1::AttachResponse response;
    auto context = deadline_context(30s);
    ASSERT_TRUE(runtime_->Attach(context.get(), request, &response).ok());

    Pipe in, out, err;
    berth::stream::RemoteCommandIo io{in.read, out.write, err.write, false, {}};
    std::thread client([&] {
        const auto outcome =
            berth::stream::run_remote_command(response.url(), io, client_options());
        EXPECT_TRUE(outcome.success) << outcome.message;
        out.close_write();
    });
    ASSERT_EQ(::write(in.write, "hello\n", 6), 6);
    // Read until the echo of our line arrives.
    std::string seen;
    char buffer[256];
    while (seen.find("got:hello") == std::string::npos) {
        pollfd ready{out.read, POLLIN, 0};
        ASSERT_GT(::poll(&ready, 1, 10000), 0) << "no output from attach: " << seen;
        const ssize_t got = ::read(out.read, buffer, sizeof buffer);
        ASSERT_GT(got, 0);
        seen.append(buffer, static_cast<std::size_t>(got));
    }
    // Detaching (the client's input ends; not stdin_once) leaves the
    // container running.
    in.close_write();
    // The session goes on until the container ends; stop it.
    v1::StopContainerRequest stop;
    stop.set_container_id(id);
    stop.set_timeout(1);
    v1::StopContainerResponse stopped;
    v1::ContainerStatusRequest status_request;
    status_request.set_container_id(id);
    v1::ContainerStatusResponse status;
    auto status_context = deadline_context(30s);
    ASSERT_TRUE(runtime_->ContainerStatus(status_context.get(), status_request, &status).ok());
    EXPECT_EQ(status.status().state(), v1::CONTAINER_RUNNING);
    auto stop_context = deadline_context(60s);
    ASSERT_TRUE(runtime_->StopContainer(stop_context.get(), stop, &stopped).ok());
    client.join();
}

TEST_P(StreamingTest, PortForwardReachesAServerInsideThePod) {
    run_container("web", {"sh", "-c",
                          "mkdir -p /tmp/www && echo pong > /tmp/www/index.html && "
                          "exec httpd -f -p 127.0.0.1:8080 -h /tmp/www"});
    v1::PortForwardRequest request;
    request.set_pod_sandbox_id(pod_);
    v1::PortForwardResponse response;
    auto context = deadline_context(30s);
    ASSERT_TRUE(runtime_->PortForward(context.get(), request, &response).ok());

    std::unique_ptr<berth::stream::PortForwardSession> spdy;
    if (!websocket())
        spdy = std::make_unique<berth::stream::PortForwardSession>(response.url());
    // Each connection of the WebSocket form needs a URL (token) of its own.
    const auto forward = [&](int fd, std::uint16_t port) {
        if (spdy)
            return spdy->forward(fd, port);
        v1::PortForwardResponse fresh;
        auto fresh_context = deadline_context(30s);
        EXPECT_TRUE(runtime_->PortForward(fresh_context.get(), request, &fresh).ok());
        return berth::stream::forward_over_websocket(fresh.url(), fd, port);
    };

    // httpd may take a moment to listen: retry until it answers.
    std::string reply;
    for (int attempt = 0; attempt < 50 && reply.find("pong") == std::string::npos; ++attempt) {
        int pair[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        std::string error;
        std::thread relay([&] { error = forward(pair[0], 8080); });
        const std::string get = "GET /index.html HTTP/1.0\r\n\r\n";
        ASSERT_EQ(::write(pair[1], get.data(), get.size()), static_cast<ssize_t>(get.size()));
        reply.clear();
        char buffer[4096];
        ssize_t got;
        while ((got = ::read(pair[1], buffer, sizeof buffer)) > 0)
            reply.append(buffer, static_cast<std::size_t>(got));
        ::close(pair[1]);
        relay.join();
        if (reply.find("pong") == std::string::npos)
            std::this_thread::sleep_for(100ms);
    }
    EXPECT_NE(reply.find("200 OK"), std::string::npos) << reply;
    EXPECT_NE(reply.find("pong"), std::string::npos) << reply;

    // A closed port is reported on the error stream; the session goes on.
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    const std::string error = forward(pair[0], 8081);
    ::close(pair[1]);
    EXPECT_NE(error.find("an error occurred forwarding 8081 -> 8081"), std::string::npos) << error;
    EXPECT_NE(error.find("refused"), std::string::npos) << error;
    if (spdy) {
        EXPECT_FALSE(spdy->closed());
    }
}

INSTANTIATE_TEST_SUITE_P(Transports, StreamingTest, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& param_info) {
                             return param_info.param ? "WebSocket" : "Spdy";
                         });

// What does not depend on the transport: tokens, validation, the CLI and an
// independent WebSocket client.
class StreamingRpcTest : public StreamingTest {};

TEST_P(StreamingRpcTest, TokensAreSingleUseAndRequestsAreValidated) {
    const auto id = run_container("sleeper", {"sleep", "600"});
    const std::string url = exec_url(id, {"true"});
    EXPECT_TRUE(session(url, std::nullopt).outcome.success);
    try {
        session(url, std::nullopt);
        ADD_FAILURE() << "a used token was accepted";
    } catch (const berth::stream::HttpUpgradeError& error) {
        EXPECT_NE(std::string(error.what()).find("404"), std::string::npos) << error.what();
    }
    // A made-up token, and a path that is no streaming URL.
    const std::string base = url.substr(0, url.find("/exec/"));
    for (const auto& bad : {base + "/exec/not-a-token", base + "/nothing/here"}) {
        try {
            session(bad, std::nullopt);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const berth::stream::HttpUpgradeError& error) {
            EXPECT_NE(std::string(error.what()).find("404"), std::string::npos) << error.what();
        }
    }
    // A plain GET without an upgrade.
    const auto plain =
        run_command("curl -s -o /dev/null -w '%{http_code}' " + exec_url(id, {"true"}));
    EXPECT_EQ(plain.output, "400");

    v1::ExecRequest request;
    request.set_container_id(id);
    request.add_cmd("true");
    std::string ignored;
    EXPECT_EQ(exec_url(request, &ignored).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "no stream asked for";
    request.set_stdout(true);
    request.set_stderr(true);
    request.set_tty(true);
    EXPECT_EQ(exec_url(request, &ignored).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "tty with stderr";
    request.set_tty(false);
    request.clear_cmd();
    EXPECT_EQ(exec_url(request, &ignored).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "no command";
    request.add_cmd("true");
    request.set_container_id("f00dfeed");
    EXPECT_EQ(exec_url(request, &ignored).error_code(), grpc::StatusCode::NOT_FOUND);

    v1::PortForwardRequest forward;
    forward.set_pod_sandbox_id("f00dfeed");
    v1::PortForwardResponse forwarded;
    auto context = deadline_context(30s);
    EXPECT_EQ(runtime_->PortForward(context.get(), forward, &forwarded).error_code(),
              grpc::StatusCode::NOT_FOUND);
    forward.set_pod_sandbox_id(pod_);
    forward.add_port(70000);
    auto range_context = deadline_context(30s);
    EXPECT_EQ(runtime_->PortForward(range_context.get(), forward, &forwarded).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);

    // Exec and Attach into a container that has exited.
    const auto done = run_container("done", {"true"});
    for (int i = 0; i < 100; ++i) {
        v1::ContainerStatusRequest status_request;
        status_request.set_container_id(done);
        v1::ContainerStatusResponse status;
        auto status_context = deadline_context(30s);
        ASSERT_TRUE(runtime_->ContainerStatus(status_context.get(), status_request, &status).ok());
        if (status.status().state() == v1::CONTAINER_EXITED)
            break;
        std::this_thread::sleep_for(50ms);
    }
    request.set_container_id(done);
    EXPECT_EQ(exec_url(request, &ignored).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    v1::AttachRequest attach;
    attach.set_container_id(done);
    attach.set_stdout(true);
    v1::AttachResponse attached;
    auto attach_context = deadline_context(30s);
    EXPECT_EQ(runtime_->Attach(attach_context.get(), attach, &attached).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_P(StreamingRpcTest, BerthctlExecAndPythonWebSocketClient) {
    const auto id = run_container("sleeper", {"sleep", "600"});
    const std::string ctl =
        std::string(BERTHCTL_PATH) + " -r unix://" + daemon_->socket_path() + " ";
    auto echo = run_command(ctl + "exec " + id + " echo hi 2>&1");
    EXPECT_EQ(echo.exit_code, 0) << echo.output;
    EXPECT_EQ(echo.output, "hi\n");
    auto ws = run_command(ctl + "exec -r websocket " + id + " sh -c 'echo ws; exit 4' 2>&1");
    EXPECT_EQ(ws.exit_code, 4) << ws.output;
    EXPECT_EQ(ws.output, "ws\n");
    auto sync = run_command(ctl + "exec -s --timeout 5 " + id + " sh -c 'echo sync; exit 5' 2>&1");
    EXPECT_EQ(sync.exit_code, 5) << sync.output;
    EXPECT_EQ(sync.output, "sync\n");
    auto piped = run_command("echo piped | " + ctl + "exec -i " + id + " cat 2>&1");
    EXPECT_EQ(piped.exit_code, 0) << piped.output;
    EXPECT_EQ(piped.output, "piped\n");

    // An independent WebSocket client: Python's websockets library.
    const std::string url = exec_url(id, {"sh", "-c", "echo from-python; exit 6"});
    const auto python = run_command(std::string("/usr/bin/python3 ") + BERTH_FIXTURES_DIR +
                                    "/ws_exec_client.py " + url + " 2>&1");
    EXPECT_EQ(python.exit_code, 0) << python.output;
    EXPECT_NE(python.output.find("stdout: from-python"), std::string::npos) << python.output;
    EXPECT_NE(python.output.find("exit code: 6"), std::string::npos) << python.output;
}

TEST_P(StreamingRpcTest, AClientThatVanishesEndsItsCommand) {
    const auto id = run_container("sleeper", {"sleep", "600"});
    const std::string ctl = std::string(BERTHCTL_PATH) + " -r unix://" + daemon_->socket_path();
    // berthctl is killed (-9) while the command runs and its input is open.
    const auto killed = run_command("sleep 4 | timeout -s KILL 2 " + ctl + " exec -i " + id +
                                    " sh -c 'exec sleep 4242'");
    EXPECT_EQ(killed.exit_code, 137) << killed.output;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        gone = run_command("pgrep -f '^sleep 4242$' >/dev/null").exit_code != 0;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(gone) << "the exec'd command outlived its client";
}

// The streaming server over https, with a certificate made for the test.
class StreamingTlsTest : public StreamingTest {
protected:
    std::string extra_config() override {
        const auto made = run_command(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
            "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
            (certs_ / "stream.key") + " -out " + (certs_ / "stream.crt") + " 2>&1");
        EXPECT_EQ(made.exit_code, 0) << made.output;
        return "[berth.api]\nstream_enable_tls = true\nstream_tls_cert = \"" +
               (certs_ / "stream.crt") + "\"\nstream_tls_key = \"" + (certs_ / "stream.key") +
               "\"\n";
    }
    berth::test::TempDir certs_;
};

TEST_P(StreamingTlsTest, ExecOverHttpsVerifiesTheServer) {
    const auto id = run_container("sleeper", {"sleep", "600"});
    auto options = client_options();
    options.tls.ca_file = certs_ / "stream.crt";
    std::string url = exec_url(id, {"echo", "secure"});
    ASSERT_EQ(url.rfind("https://", 0), 0u) << url;
    Pipe out, err;
    berth::stream::RemoteCommandIo io{-1, out.write, err.write, false, {}};
    const auto outcome = berth::stream::run_remote_command(url, io, options);
    out.close_write();
    EXPECT_TRUE(outcome.success) << outcome.message;
    EXPECT_EQ(Collector(out.read).finish(), "secure\n");

    // A client that trusts another CA refuses the server.
    options.tls.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    url = exec_url(id, {"true"});
    berth::stream::RemoteCommandIo quiet{-1, -1, -1, false, {}};
    EXPECT_THROW(berth::stream::run_remote_command(url, quiet, options),
                 berth::stream::HttpUpgradeError);
}

INSTANTIATE_TEST_SUITE_P(Tls, StreamingTlsTest, testing::Values(false, true));

INSTANTIATE_TEST_SUITE_P(Rpc, StreamingRpcTest, testing::Values(false));

}  // namespace
