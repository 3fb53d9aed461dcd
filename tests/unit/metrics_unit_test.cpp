// The Prometheus side of berthd (daemon/metrics/): the text it writes is
// valid exposition format 0.0.4 by a strict parser (itself checked against
// bad input here), RPCs are counted by the gRPC interceptor, containers and
// pods are counted by state at scrape time, and the HTTP endpoint answers
// GET /metrics and refuses a port that is taken, naming it.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "berth/config/loader.hpp"
#include "config_holder.hpp"
#include "metrics/exposition.hpp"
#include "metrics/metrics_endpoint.hpp"
#include "metrics/rpc_interceptor.hpp"
#include "metrics/scrape.hpp"
#include "prometheus_text.hpp"
#include "server/runtime_service.hpp"
#include "temp_dir.hpp"
#include "test_http.hpp"

namespace v1 = runtime::v1;
namespace metrics = berth::daemon::metrics;
using berth::test::PromText;
using berth::test::TempDir;

namespace {

TEST(MetricsFormat, NumbersAreSpelledAsTheFormatWants) {
    EXPECT_EQ(metrics::format_value(0), "0");
    EXPECT_EQ(metrics::format_value(42), "42");
    EXPECT_EQ(metrics::format_value(-3), "-3");
    EXPECT_EQ(metrics::format_value(1e15), "1000000000000000");
    EXPECT_EQ(metrics::format_value(0.25), "0.25");
    EXPECT_EQ(metrics::format_value(0.0005), "0.0005");
    EXPECT_EQ(metrics::format_value(1e300), "1e+300");
    EXPECT_EQ(metrics::format_value(HUGE_VAL), "+Inf");
    EXPECT_EQ(metrics::format_value(-HUGE_VAL), "-Inf");
    EXPECT_EQ(metrics::format_value(std::nan("")), "NaN");
    // Whatever is written reads back as the same double.
    for (const double value : {0.1, 1.0 / 3, 123456.789, 2.5e-9})
        EXPECT_EQ(std::stod(metrics::format_value(value)), value);
}

TEST(MetricsFormat, EscapesLabelValuesAndHelp) {
    EXPECT_EQ(metrics::escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(metrics::escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
}

TEST(MetricsFormat, WrittenTextParsesStrictlyWithTheSameValues) {
    metrics::TextWriter out;
    out.family("test_things_total", "counter", "Things with a \\ and a\nnewline.");
    out.sample("test_things_total", {{"kind", "odd \"one\"\n"}, {"zone", "a\\b"}}, 3);
    out.sample("test_things_total", {{"kind", "plain"}, {"zone", ""}}, 0);
    out.family("test_level", "gauge", "A level.");
    out.sample("test_level", {}, -1.5);
    const std::vector<double> bounds = {0.1, 1, 10};
    metrics::Histogram histogram(bounds);
    for (const double value : {0.05, 0.1, 0.5, 5.0, 50.0})
        histogram.observe(value);
    out.family("test_seconds", "histogram", "Durations.");
    out.histogram("test_seconds", {{"op", "x"}}, histogram);

    const auto parsed = PromText::parse(out.text());
    EXPECT_EQ(parsed.family("test_things_total").type, "counter");
    EXPECT_EQ(parsed.value("test_things_total", {{"kind", "odd \"one\"\n"}, {"zone", "a\\b"}}), 3);
    EXPECT_EQ(parsed.value("test_level"), -1.5);
    EXPECT_EQ(parsed.value("test_seconds_bucket", {{"op", "x"}, {"le", "0.1"}}), 2);
    EXPECT_EQ(parsed.value("test_seconds_bucket", {{"op", "x"}, {"le", "1"}}), 3);
    EXPECT_EQ(parsed.value("test_seconds_bucket", {{"op", "x"}, {"le", "10"}}), 4);
    EXPECT_EQ(parsed.value("test_seconds_bucket", {{"op", "x"}, {"le", "+Inf"}}), 5);
    EXPECT_EQ(parsed.value("test_seconds_count", {{"op", "x"}}), 5);
    EXPECT_DOUBLE_EQ(parsed.value("test_seconds_sum", {{"op", "x"}}), 55.65);
}

// The parser the other tests rely on must reject what the format forbids.
TEST(MetricsFormat, TheStrictParserRejectsInvalidText) {
    const char* header = "# HELP a_total A.\n# TYPE a_total counter\n";
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"no final newline", std::string(header) + "a_total 1"},
        {"blank line", std::string(header) + "\na_total 1\n"},
        {"sample without TYPE", "b 1\n"},
        {"bad name", "# TYPE 1a gauge\n1a 1\n"},
        {"bad escape", std::string(header) + "a_total{x=\"\\t\"} 1\n"},
        {"unquoted value", std::string(header) + "a_total{x=y} 1\n"},
        {"trailing comma", std::string(header) + "a_total{x=\"y\",} 1\n"},
        {"label twice", std::string(header) + "a_total{x=\"1\",x=\"2\"} 1\n"},
        {"reserved label", std::string(header) + "a_total{__x=\"1\"} 1\n"},
        {"series twice", std::string(header) + "a_total 1\na_total 2\n"},
        {"negative counter", std::string(header) + "a_total -1\n"},
        {"not a number", std::string(header) + "a_total one\n"},
        {"timestamp", std::string(header) + "a_total 1 1700000000\n"},
        {"second TYPE", std::string(header) + "# TYPE a_total counter\na_total 1\n"},
        {"other comment", "# hello\n"},
        {"counter without _total", "# TYPE a counter\na 1\n"},
        {"not contiguous",
         std::string(header) + "a_total 1\n# TYPE g gauge\ng 1\na_total{x=\"1\"} 1\n"},
        {"buckets not cumulative",
         "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n"
         "h_count 1\n"},
        {"no +Inf bucket", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"},
        {"count not +Inf", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n"},
        {"no sum", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"},
    };
    for (const auto& [why, text] : bad)
        EXPECT_THROW(PromText::parse(text), std::runtime_error) << why;
    EXPECT_NO_THROW(PromText::parse(""));
    EXPECT_NO_THROW(PromText::parse(std::string(header) + "a_total{x=\"1\"} 1e3\n"));
}

TEST(RpcMetrics, CountsCallsByServiceMethodAndCode) {
    metrics::RpcMetrics rpcs;
    rpcs.record("/runtime.v1.RuntimeService/Version", "OK", 0.0001);
    rpcs.record("/runtime.v1.RuntimeService/Version", "OK", 0.02);
    rpcs.record("/runtime.v1.RuntimeService/PodSandboxStatus", "NOT_FOUND", 3);
    metrics::TextWriter out;
    rpcs.write(out);
    const auto parsed = PromText::parse(out.text());
    const std::map<std::string, std::string> version = {
        {"service", "runtime.v1.RuntimeService"}, {"method", "Version"}, {"code", "OK"}};
    EXPECT_EQ(parsed.value("berth_grpc_requests_total", version), 2);
    EXPECT_EQ(parsed.value("berth_grpc_request_duration_seconds_count", version), 2);
    auto bucket = version;
    bucket["le"] = "0.0005";
    EXPECT_EQ(parsed.value("berth_grpc_request_duration_seconds_bucket", bucket), 1);
    EXPECT_EQ(parsed.value("berth_grpc_requests_total", {{"service", "runtime.v1.RuntimeService"},
                                                         {"method", "PodSandboxStatus"},
                                                         {"code", "NOT_FOUND"}}),
              1);
    EXPECT_EQ(metrics::code_name(0), "OK");
    EXPECT_EQ(metrics::code_name(5), "NOT_FOUND");
    EXPECT_EQ(metrics::code_name(16), "UNAUTHENTICATED");
    EXPECT_EQ(metrics::code_name(99), "CODE_99");
}

TEST(PullMetrics, CountsPullsFailuresBytesAndTime) {
    metrics::PullMetrics pulls;
    pulls.record(true, 1.5);
    pulls.record(false, 0.01);
    metrics::TextWriter out;
    pulls.write(out, 12345);
    const auto parsed = PromText::parse(out.text());
    EXPECT_EQ(parsed.value("berth_image_pulls_total"), 2);
    EXPECT_EQ(parsed.value("berth_image_pull_failures_total"), 1);
    EXPECT_EQ(parsed.value("berth_image_pull_bytes_total"), 12345);
    EXPECT_EQ(parsed.value("berth_image_pull_duration_seconds_count"), 2);
    EXPECT_DOUBLE_EQ(parsed.value("berth_image_pull_duration_seconds_sum"), 1.51);
}

// A ServerState in a temporary root, and the CRI runtime service on an
// in-process gRPC server with the metrics interceptor, as berthd builds it.
class MetricsServerTest : public testing::Test {
protected:
    void SetUp() override {
        dir_.write("berth.conf", "[berth]\nroot = \"" + (dir_ / "root") + "\"\nrunroot = \"" +
                                     (dir_ / "run") + "\"\n[berth.network]\nnetwork_dir = \"" +
                                     (dir_ / "net.d") + "\"\n");
        berth::config::LoadOptions options;
        options.config_file = dir_ / "berth.conf";
        options.config_dir = dir_ / "berth.conf.d";
        holder_ = std::make_unique<berth::daemon::ConfigHolder>(berth::config::load(options));
        state_ = std::make_unique<berth::daemon::server::ServerState>(*holder_, "berth-unpack");
        service_ = std::make_unique<berth::daemon::server::CriRuntimeService>(*state_);
        grpc::ServerBuilder builder;
        builder.RegisterService(service_.get());
        builder.experimental().SetInterceptorCreators(
            metrics::rpc_interceptors(state_->metrics().rpcs));
        server_ = builder.BuildAndStart();
        ASSERT_TRUE(server_);
        stub_ = v1::RuntimeService::NewStub(server_->InProcessChannel({}));
    }
    void TearDown() override {
        if (server_)
            server_->Shutdown();
    }

    std::string scrape() const {
        const metrics::ScrapeSources sources{&state_->metrics(), &state_->containers().store(),
                                             &state_->sandboxes().store(), &state_->runtimes(),
                                             &state_->events()};
        return metrics::render_metrics(sources);
    }

    TempDir dir_;
    std::unique_ptr<berth::daemon::ConfigHolder> holder_;
    std::unique_ptr<berth::daemon::server::ServerState> state_;
    std::unique_ptr<berth::daemon::server::CriRuntimeService> service_;
    std::unique_ptr<grpc::Server> server_;
    std::unique_ptr<v1::RuntimeService::Stub> stub_;
};

TEST_F(MetricsServerTest, TheInterceptorCountsEveryCallWithItsCode) {
    for (int i = 0; i < 3; ++i) {
        grpc::ClientContext context;
        v1::VersionResponse response;
        ASSERT_TRUE(stub_->Version(&context, {}, &response).ok());
    }
    grpc::ClientContext context;
    v1::PodSandboxStatusRequest request;
    request.set_pod_sandbox_id("0123456789ab");
    v1::PodSandboxStatusResponse response;
    EXPECT_EQ(stub_->PodSandboxStatus(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);

    // The interceptor records as a call is torn down, just after the client
    // has its answer: wait for it (briefly).
    PromText parsed;
    const std::map<std::string, std::string> version = {
        {"service", "runtime.v1.RuntimeService"}, {"method", "Version"}, {"code", "OK"}};
    const std::map<std::string, std::string> not_found = {{"service", "runtime.v1.RuntimeService"},
                                                          {"method", "PodSandboxStatus"},
                                                          {"code", "NOT_FOUND"}};
    for (int attempt = 0; attempt < 200; ++attempt) {
        parsed = PromText::parse(scrape());
        if (parsed.value("berth_grpc_requests_total", version) == 3 &&
            parsed.value("berth_grpc_requests_total", not_found) == 1) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(parsed.value("berth_grpc_requests_total", version), 3);
    EXPECT_EQ(parsed.value("berth_grpc_requests_total", not_found), 1);
    EXPECT_EQ(parsed.value("berth_grpc_request_duration_seconds_count", not_found), 1);
}

TEST(MetricsScrape, CountsContainersAndPodsByState) {
    using berth::daemon::container::Container;
    using berth::daemon::container::ContainerState;
    using berth::daemon::sandbox::Sandbox;
    using berth::daemon::sandbox::SandboxState;
    TempDir dir;
    berth::daemon::container::ContainerStore containers(dir / "containers");
    berth::daemon::sandbox::SandboxStore sandboxes(dir / "sandboxes");
    berth::daemon::events::EventBus bus(10);
    const auto subscription = bus.subscribe();
    int n = 0;
    for (const auto state : {ContainerState::Running, ContainerState::Running,
                             ContainerState::Exited, ContainerState::Created}) {
        Container record;
        record.id = std::string(63, 'a') + std::to_string(n);
        record.name = "c" + std::to_string(n++);
        record.state = state;
        containers.put(record);
    }
    for (const auto state : {SandboxState::Ready, SandboxState::NotReady, SandboxState::Ready}) {
        Sandbox record;
        record.id = std::string(63, 'b') + std::to_string(n);
        record.name = "p" + std::to_string(n++);
        record.runtime_handler = "runc";
        record.state = state;
        sandboxes.put(record);
    }
    metrics::Registry registry;
    const auto parsed = PromText::parse(
        metrics::render_metrics({&registry, &containers, &sandboxes, nullptr, &bus}));
    EXPECT_EQ(parsed.value("berth_containers", {{"state", "running"}}), 2);
    EXPECT_EQ(parsed.value("berth_containers", {{"state", "exited"}}), 1);
    EXPECT_EQ(parsed.value("berth_containers", {{"state", "created"}}), 1);
    EXPECT_EQ(parsed.value("berth_containers", {{"state", "creating"}}), 0);
    EXPECT_EQ(parsed.value("berth_pods", {{"state", "ready"}}), 2);
    EXPECT_EQ(parsed.value("berth_pods", {{"state", "notready"}}), 1);
    EXPECT_EQ(parsed.value("berth_container_event_subscribers"), 1);
    EXPECT_EQ(parsed.value("berth_image_pulls_total"), 0);
    EXPECT_FALSE(parsed.has("berth_monitor_processes"));  // no runtimes given
    EXPECT_GT(parsed.value("berth_process_resident_memory_bytes"), 1 << 20);
    EXPECT_GE(parsed.value("berth_process_open_fds"), 3);
    for (const auto& [name, family] : parsed.families()) {
        EXPECT_EQ(name.rfind("berth_", 0), 0u) << name;
        EXPECT_FALSE(family.help.empty()) << name;
    }
}

TEST(MetricsEndpoint, ServesMetricsOverHttpAndRefusesATakenPort) {
    metrics::MetricsEndpoint endpoint("127.0.0.1", 0, [] {
        metrics::TextWriter out;
        out.family("berth_test", "gauge", "A test.");
        out.sample("berth_test", {}, 7);
        return out.text();
    });
    ASSERT_NE(endpoint.port(), 0);
    EXPECT_EQ(endpoint.endpoint(), "127.0.0.1:" + std::to_string(endpoint.port()));
    const auto response = berth::test::http_exchange(endpoint.port(), "GET /metrics HTTP/1.0");
    EXPECT_EQ(response.status, 200) << response.raw;
    EXPECT_EQ(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(PromText::parse(response.body).value("berth_test"), 7);
    EXPECT_EQ(berth::test::http_exchange(endpoint.port(), "GET / HTTP/1.0").status, 404);
    EXPECT_EQ(berth::test::http_exchange(endpoint.port(), "POST /metrics HTTP/1.0").status, 405);

    try {
        metrics::MetricsEndpoint second("127.0.0.1", endpoint.port(), [] { return ""; });
        ADD_FAILURE() << "a second endpoint on the same port started";
    } catch (const std::runtime_error& error) {
        const std::string message = error.what();
        EXPECT_NE(message.find("127.0.0.1:" + std::to_string(endpoint.port())), std::string::npos)
            << message;
        EXPECT_NE(message.find("Address already in use"), std::string::npos) << message;
    }
    EXPECT_THROW(metrics::MetricsEndpoint("no.such.host.invalid", 0, [] { return ""; }),
                 std::runtime_error);
}

}  // namespace
