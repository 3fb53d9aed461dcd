// GetContainerEvents on a real berthd with real containers: the lifecycle in
// order with the pod's and containers' statuses, several subscribers, a
// subscriber that never reads (dropped with RESOURCE_EXHAUSTED while the
// containers go on being made), cancellation and shutdown.
#include <gtest/gtest.h>
#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "child_process.hpp"
#include "container_event_stream.hpp"
#include "cri_session.hpp"
#include "prometheus_text.hpp"
#include "test_http.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
using berth::test::BerthdInstance;
using berth::test::BerthdOptions;
using berth::test::ChildOptions;
using berth::test::ChildProcess;
using berth::test::ContainerEventStream;
using berth::test::CriSession;
using berth::test::read_file;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

std::vector<v1::ContainerEventType> types_of(
    const std::vector<v1::ContainerEventResponse>& events) {
    std::vector<v1::ContainerEventType> types;
    for (const auto& event : events)
        types.push_back(event.container_event_type());
    return types;
}

const std::vector<v1::ContainerEventType> kLifecycle = {
    v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT, v1::CONTAINER_STOPPED_EVENT,
    v1::CONTAINER_DELETED_EVENT};

class EventsTest : public testing::Test {
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

    void start_daemon(BerthdOptions options = {}) {
        daemon_ = std::make_unique<BerthdInstance>(std::move(options));
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
        cri_ = std::make_unique<CriSession>(*daemon_);
        cri_->pull(image());
        pod_ = cri_->run_pod("events");
    }
    void TearDown() override {
        if (cri_)
            cri_->remove_all_pods();
        cri_.reset();
        daemon_.reset();
    }

    static std::string image() { return registry_->host() + "/busybox:multi"; }

    static TestRegistry* registry_;
    std::unique_ptr<BerthdInstance> daemon_;
    std::unique_ptr<CriSession> cri_;
    std::string pod_;
};

TestRegistry* EventsTest::registry_ = nullptr;

TEST_F(EventsTest, OneSubscriberSeesCreatedStartedStoppedDeletedInOrder) {
    start_daemon();
    ContainerEventStream stream(cri_->runtime());
    const auto id = cri_->run(pod_, CriSession::container("sleeper", image(), {"sleep", "1000"}));
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(cri_->stop(id).ok());
    ASSERT_TRUE(cri_->remove(id).ok());

    const auto events = stream.of(id, 4);
    ASSERT_EQ(types_of(events), kLifecycle);
    const v1::ContainerState expected_state[] = {v1::CONTAINER_CREATED, v1::CONTAINER_RUNNING,
                                                 v1::CONTAINER_EXITED};
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& event = events[i];
        if (i > 0) {
            EXPECT_GE(event.created_at(), events[i - 1].created_at());
        }
        EXPECT_GT(event.created_at(), 0);
        EXPECT_EQ(event.pod_sandbox_status().id(), pod_);
        EXPECT_EQ(event.pod_sandbox_status().state(), v1::SANDBOX_READY);
        EXPECT_EQ(event.pod_sandbox_status().metadata().name(), "events");
        const v1::ContainerStatus* own = nullptr;
        for (const auto& status : event.containers_statuses()) {
            if (status.id() == id)
                own = &status;
        }
        if (i == 3) {
            EXPECT_EQ(own, nullptr) << "a deleted container is no longer among the pod's";
            continue;
        }
        ASSERT_NE(own, nullptr) << "event " << i;
        EXPECT_EQ(own->state(), expected_state[i]) << "event " << i;
        EXPECT_EQ(own->metadata().name(), "sleeper");
    }

    // An exit of its own is reported too, with its code.
    const auto quitter =
        cri_->run(pod_, CriSession::container("quitter", image(), {"sh", "-c", "exit 3"}));
    const auto quit = stream.of(quitter, 3);
    ASSERT_EQ(quit.size(), 3u);
    EXPECT_EQ(quit[2].container_event_type(), v1::CONTAINER_STOPPED_EVENT);
    bool seen = false;
    for (const auto& status : quit[2].containers_statuses()) {
        if (status.id() == quitter) {
            seen = true;
            EXPECT_EQ(status.exit_code(), 3);
            EXPECT_EQ(status.state(), v1::CONTAINER_EXITED);
        }
    }
    EXPECT_TRUE(seen);

    // The client's cancellation ends the stream.
    stream.cancel();
    const auto status = stream.finish();
    ASSERT_TRUE(status.has_value()) << "the stream did not end after a cancel";
    EXPECT_EQ(status->error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(EventsTest, TwoSubscribersBothSeeEveryEvent) {
    start_daemon();
    ContainerEventStream first(cri_->runtime());
    ContainerEventStream second(cri_->runtime());
    std::vector<std::string> ids;
    for (const char* name : {"one", "two"}) {
        const auto id = cri_->run(pod_, CriSession::container(name, image(), {"sleep", "1000"}));
        ASSERT_FALSE(id.empty());
        ids.push_back(id);
    }
    for (const auto& id : ids) {
        ASSERT_TRUE(cri_->stop(id).ok());
        ASSERT_TRUE(cri_->remove(id).ok());
    }
    for (auto* stream : {&first, &second}) {
        for (const auto& id : ids)
            EXPECT_EQ(types_of(stream->of(id, 4)), kLifecycle) << id;
    }
}

TEST_F(EventsTest, ASubscriberThatNeverReadsIsDroppedWithoutSlowingContainers) {
    // A small queue, and large events (every container of the pod carries
    // 64 KiB of annotations, and each event holds all of them), so that the
    // silent subscriber overflows after a few containers whatever the
    // transport buffers.
    BerthdOptions options;
    options.extra_config = "[berth.api]\nevents_queue_size = 16\n";
    start_daemon(std::move(options));
    grpc::ClientContext silent_context;
    // Only a bound for a broken daemon that never drops it.
    silent_context.set_deadline(std::chrono::system_clock::now() + 60s);
    auto silent = cri_->runtime().GetContainerEvents(&silent_context, {});
    silent->WaitForInitialMetadata();
    ContainerEventStream reader(cri_->runtime());  // keeps up, and must never be dropped

    constexpr int kContainers = 40;
    std::vector<std::string> ids;
    for (int i = 0; i < kContainers; ++i) {
        auto config = CriSession::container("c" + std::to_string(i), image(), {"sleep", "1000"});
        (*config.mutable_annotations())["padding"] = std::string(64 << 10, 'x');
        const auto id = cri_->run(pod_, config);
        ASSERT_FALSE(id.empty()) << "container " << i;
        ids.push_back(id);
    }
    // The loop finished: the silent subscriber held nothing up.
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kContainers));
    EXPECT_EQ(types_of(reader.of(ids.back(), 2)),
              (std::vector<v1::ContainerEventType>{v1::CONTAINER_CREATED_EVENT,
                                                   v1::CONTAINER_STARTED_EVENT}));
    EXPECT_EQ(reader.total(), 2u * kContainers);

    // Reading now drains what the transport held, then the end: the
    // subscriber was dropped, and told why.
    v1::ContainerEventResponse event;
    int drained = 0;
    while (silent->Read(&event))
        ++drained;
    const auto status = silent->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << status.error_message() << " after " << drained << " events";
    EXPECT_NE(status.error_message().find("events_queue_size"), std::string::npos)
        << status.error_message();
    EXPECT_LT(drained, 2 * kContainers);
    std::printf("EventsTest: the silent subscriber got %d of %d events before it was dropped\n",
                drained, 2 * kContainers);
}

TEST_F(EventsTest, ShutdownEndsOpenStreamsAtOnce) {
    start_daemon();
    cri_->remove_all_pods();
    ContainerEventStream stream(cri_->runtime());
    daemon_->process().signal(SIGTERM);
    const auto status = stream.finish(8s);  // well inside berthd's 10 s grace
    ASSERT_TRUE(status.has_value()) << "the stream held berthd's shutdown";
    EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE) << status->error_message();
    EXPECT_TRUE(daemon_->process().wait_for_exit(10s).has_value());
    cri_.reset();  // nothing left to clean up through the API
}

TEST_F(EventsTest, BerthctlEventsFollowsTheStream) {
    // berthd's metrics tell when berthctl's subscriptions exist.
    const int metrics_port = berth::test::free_tcp_port();
    BerthdOptions options;
    options.extra_config =
        "[berth.metrics]\nenable = true\nport = " + std::to_string(metrics_port) + "\n";
    start_daemon(std::move(options));
    auto follow = [&](const std::string& output, const std::string& file) {
        ChildOptions child;
        child.argv = {BERTHCTL_PATH, "-r", "unix://" + daemon_->socket_path(), "events"};
        if (!output.empty())
            child.argv.insert(child.argv.end(), {"-o", output});
        child.stdout_file = daemon_->dir() / file;
        child.stderr_file = daemon_->dir() / (file + ".err");
        return std::make_unique<ChildProcess>(child);
    };
    const auto lines = follow("", "events.txt");
    const auto json = follow("json", "events.json");
    double subscribers = 0;
    for (int attempt = 0; attempt < 500 && subscribers < 2; ++attempt) {
        const auto answer = berth::test::http_exchange(metrics_port, "GET /metrics HTTP/1.0");
        subscribers =
            berth::test::PromText::parse(answer.body).value("berth_container_event_subscribers");
        if (subscribers < 2)
            std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(subscribers, 2) << read_file(daemon_->dir() / "events.txt.err");

    const auto id = cri_->run(pod_, CriSession::container("watched", image(), {"sleep", "1000"}));
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(cri_->stop(id).ok());
    ASSERT_TRUE(cri_->remove(id).ok());
    std::string text;
    for (int attempt = 0; attempt < 500; ++attempt) {
        text = read_file(daemon_->dir() / "events.txt");
        if (text.find(" deleted ") != std::string::npos &&
            read_file(daemon_->dir() / "events.json").find("CONTAINER_DELETED_EVENT") !=
                std::string::npos) {
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    // TIME TYPE ID NAME STATE pod=NAME, one line per event, in order.
    std::istringstream stream(text);
    std::vector<std::string> types;
    std::string line;
    while (std::getline(stream, line)) {
        std::istringstream fields(line);
        std::string time, type, short_id, name;
        fields >> time >> type >> short_id >> name;
        EXPECT_EQ(short_id, id.substr(0, 13)) << line;
        EXPECT_NE(line.find("pod=events"), std::string::npos) << line;
        if (type != "deleted") {
            EXPECT_EQ(name, "watched") << line;
        }
        types.push_back(type);
    }
    EXPECT_EQ(types, (std::vector<std::string>{"created", "started", "stopped", "deleted"}))
        << text;

    std::istringstream json_stream(read_file(daemon_->dir() / "events.json"));
    std::vector<std::string> json_types;
    while (std::getline(json_stream, line)) {
        const auto event = nlohmann::json::parse(line);
        EXPECT_EQ(event.at("containerId"), id);
        json_types.push_back(event.at("containerEventType"));
    }
    EXPECT_EQ(json_types,
              (std::vector<std::string>{"CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT",
                                        "CONTAINER_STOPPED_EVENT", "CONTAINER_DELETED_EVENT"}));
}

}  // namespace
