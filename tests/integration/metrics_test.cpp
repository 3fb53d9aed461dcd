// berthd's Prometheus endpoint ([berth.metrics]) on a real daemon: the text
// is valid exposition format (the strict parser in prometheus_text.hpp),
// counters rise with RPCs, pulls and containers, no port is opened when it
// is disabled, and a taken port stops berthd's start with the address named.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "berthd_instance.hpp"
#include "cri_session.hpp"
#include "prometheus_text.hpp"
#include "test_http.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
using berth::test::BerthdInstance;
using berth::test::BerthdOptions;
using berth::test::CriSession;
using berth::test::PromText;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

// A port on 127.0.0.1 held by this test, listening, so that berthd cannot
// have it.
class TakenPort {
public:
    TakenPort() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
            throw std::runtime_error("bind");
        socklen_t length = sizeof(address);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
        ::listen(fd_, 1);
    }
    ~TakenPort() { ::close(fd_); }
    TakenPort(const TakenPort&) = delete;
    TakenPort& operator=(const TakenPort&) = delete;
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

std::string metrics_config(int port, bool enable = true) {
    return "[berth.metrics]\nenable = " + std::string(enable ? "true" : "false") +
           "\naddress = \"127.0.0.1\"\nport = " + std::to_string(port) + "\n";
}

// TCP ports the process listens on (its sockets matched in /proc/net/tcp).
std::set<int> listening_ports(pid_t pid) {
    std::set<std::string> inodes;
    const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
    for (const auto& entry : std::filesystem::directory_iterator(fd_dir)) {
        std::error_code error;
        const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
        if (!error && target.rfind("socket:[", 0) == 0)
            inodes.insert(target.substr(8, target.size() - 9));
    }
    std::set<int> ports;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
            fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
                timeout >> inode;
            if (state == "0A" && inodes.count(inode) != 0)
                ports.insert(std::stoi(local.substr(local.find(':') + 1), nullptr, 16));
        }
    }
    return ports;
}

class MetricsTest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        registry_ = new TestRegistry();
        ASSERT_TRUE(registry_->start()) << registry_->log();
        registry_->push("busybox:multi");
    }
    static void TearDownTestSuite() {
        delete registry_;
        registry_ = nullptr;
    }
    void TearDown() override {
        if (cri_)
            cri_->remove_all_pods();
        cri_.reset();
        daemon_.reset();
    }

    PromText scrape() {
        const auto answer = berth::test::http_exchange(port_, "GET /metrics HTTP/1.0");
        EXPECT_EQ(answer.status, 200) << answer.raw;
        EXPECT_EQ(answer.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
        try {
            return PromText::parse(answer.body);
        } catch (const std::exception& error) {
            ADD_FAILURE() << "invalid exposition text: " << error.what() << "\n" << answer.body;
            return {};
        }
    }

    static double value_or_zero(const PromText& text, const std::string& name,
                                const std::map<std::string, std::string>& labels = {}) {
        const double value = text.value(name, labels);
        return std::isnan(value) ? 0 : value;
    }

    static TestRegistry* registry_;
    std::unique_ptr<BerthdInstance> daemon_;
    std::unique_ptr<CriSession> cri_;
    int port_ = 0;
};

TestRegistry* MetricsTest::registry_ = nullptr;

TEST_F(MetricsTest, TheEndpointParsesAndItsCountersRiseWithTheWork) {
    port_ = berth::test::free_tcp_port();
    BerthdOptions options;
    options.extra_config = metrics_config(port_);
    daemon_ = std::make_unique<BerthdInstance>(std::move(options));
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    EXPECT_NE(daemon_->log().find("serving metrics on http://127.0.0.1:" + std::to_string(port_)),
              std::string::npos)
        << daemon_->log();
    cri_ = std::make_unique<CriSession>(*daemon_);

    const std::map<std::string, std::string> version = {
        {"service", "runtime.v1.RuntimeService"}, {"method", "Version"}, {"code", "OK"}};
    const std::map<std::string, std::string> status_not_found = {
        {"service", "runtime.v1.RuntimeService"},
        {"method", "ContainerStatus"},
        {"code", "NOT_FOUND"}};
    const auto before = scrape();
    for (const char* family :
         {"berth_grpc_requests_total", "berth_grpc_request_duration_seconds",
          "berth_image_pulls_total", "berth_image_pull_failures_total",
          "berth_image_pull_bytes_total", "berth_image_pull_duration_seconds", "berth_containers",
          "berth_pods", "berth_monitor_processes", "berth_process_resident_memory_bytes",
          "berth_process_open_fds", "berth_container_event_subscribers"}) {
        EXPECT_TRUE(before.has(family)) << family;
    }
    for (const auto& [name, family] : before.families()) {
        EXPECT_EQ(name.rfind("berth_", 0), 0u) << name;
        EXPECT_FALSE(family.help.empty()) << name;
    }
    EXPECT_GT(before.value("berth_process_resident_memory_bytes"), 1 << 20);
    EXPECT_GT(before.value("berth_process_open_fds"), 3);

    for (int i = 0; i < 3; ++i) {
        v1::VersionResponse response;
        auto context = berth::test::deadline_context();
        ASSERT_TRUE(cri_->runtime().Version(context.get(), {}, &response).ok());
    }
    v1::ContainerStatusRequest missing;
    missing.set_container_id("0123456789abcdef");
    v1::ContainerStatusResponse missing_response;
    auto missing_context = berth::test::deadline_context();
    EXPECT_EQ(cri_->runtime()
                  .ContainerStatus(missing_context.get(), missing, &missing_response)
                  .error_code(),
              grpc::StatusCode::NOT_FOUND);
    cri_->pull(registry_->host() + "/busybox:multi");
    {
        auto bad = berth::test::deadline_context();
        v1::PullImageRequest request;
        request.mutable_image()->set_image(registry_->host() + "/no-such-image:1");
        v1::PullImageResponse response;
        EXPECT_FALSE(daemon_->image()->PullImage(bad.get(), request, &response).ok());
    }
    const auto pod = cri_->run_pod("metrics");
    const auto id = cri_->run(
        pod, CriSession::container("app", registry_->host() + "/busybox:multi", {"sleep", "1000"}));
    ASSERT_FALSE(id.empty());

    // Calls are counted as they are torn down, just after the client has
    // its answer: give the last one a moment.
    PromText after;
    for (int attempt = 0; attempt < 100; ++attempt) {
        after = scrape();
        if (value_or_zero(after, "berth_grpc_requests_total", version) >=
                value_or_zero(before, "berth_grpc_requests_total", version) + 3 &&
            value_or_zero(after, "berth_grpc_requests_total",
                          {{"service", "runtime.v1.RuntimeService"},
                           {"method", "StartContainer"},
                           {"code", "OK"}}) == 1) {
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(value_or_zero(after, "berth_grpc_requests_total", version),
              value_or_zero(before, "berth_grpc_requests_total", version) + 3);
    EXPECT_EQ(value_or_zero(after, "berth_grpc_requests_total", status_not_found), 1);
    EXPECT_EQ(value_or_zero(after, "berth_grpc_request_duration_seconds_count", status_not_found),
              1);
    EXPECT_EQ(after.value("berth_image_pulls_total"), 2);
    EXPECT_EQ(after.value("berth_image_pull_failures_total"), 1);
    EXPECT_GT(after.value("berth_image_pull_bytes_total"), 100000);  // busybox's layer
    EXPECT_EQ(after.value("berth_image_pull_duration_seconds_count"), 2);
    EXPECT_EQ(after.value("berth_containers", {{"state", "running"}}), 1);
    EXPECT_EQ(after.value("berth_pods", {{"state", "ready"}}), 1);
    EXPECT_EQ(after.value("berth_monitor_processes"), 1);

    EXPECT_EQ(berth::test::http_exchange(port_, "GET /other HTTP/1.0").status, 404);
    EXPECT_EQ(berth::test::http_exchange(port_, "DELETE /metrics HTTP/1.0").status, 405);
}

TEST_F(MetricsTest, DisabledMeansNoPortIsOpened) {
    port_ = berth::test::free_tcp_port();
    BerthdOptions options;
    options.extra_config = metrics_config(port_, false);
    daemon_ = std::make_unique<BerthdInstance>(std::move(options));
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    EXPECT_EQ(berth::test::http_exchange(port_, "GET /metrics HTTP/1.0").status, 0);
    const auto ports = listening_ports(daemon_->process().pid());
    EXPECT_EQ(ports.count(port_), 0u);
    EXPECT_EQ(ports.count(9090), 0u);  // nor the default port
    EXPECT_EQ(daemon_->log().find("serving metrics"), std::string::npos);
}

TEST_F(MetricsTest, APortInUseStopsTheStartNamingTheAddress) {
    TakenPort taken;
    BerthdOptions options;
    options.extra_config = metrics_config(taken.port());
    daemon_ = std::make_unique<BerthdInstance>(std::move(options));
    EXPECT_FALSE(daemon_->start()) << "berthd started although its metrics port is taken";
    const std::string expected =
        "cannot serve metrics on 127.0.0.1:" + std::to_string(taken.port()) +
        ": Address already in use";
    EXPECT_NE(daemon_->log().find(expected), std::string::npos) << daemon_->log();
}

}  // namespace
