// berthd gives freed heap memory back once calls have stopped: it trims once
// after starting up, once after each burst of calls once it has been quiet,
// and not again while nothing happens. Observed through its debug log line,
// never through RSS figures (they are too noisy to assert on).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "berthd_instance.hpp"
#include "cri_session.hpp"

namespace {

using berth::test::BerthdInstance;
using berth::test::BerthdOptions;
using berth::test::CriSession;
using namespace std::chrono_literals;

constexpr const char* kTrimmed = "gave freed heap memory back after a quiet spell: RSS ";

int trims_logged(const BerthdInstance& daemon) {
    const std::string log = daemon.log();
    int count = 0;
    for (auto at = log.find(kTrimmed); at != std::string::npos; at = log.find(kTrimmed, at + 1))
        ++count;
    return count;
}

bool wait_for_trims(const BerthdInstance& daemon, int count, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (trims_logged(daemon) >= count)
            return true;
        std::this_thread::sleep_for(100ms);
    }
    return trims_logged(daemon) >= count;
}

TEST(MemoryTrim, FreedMemoryGoesBackOnceTheCallsHaveStopped) {
    BerthdOptions options;
    options.extra_args = {"--log-level", "debug"};
    BerthdInstance daemon(options);
    ASSERT_TRUE(daemon.start());
    // What starting up freed: five seconds after the start.
    ASSERT_TRUE(wait_for_trims(daemon, 1, 30s)) << daemon.log();

    CriSession cri(daemon);
    for (int i = 0; i < 50; ++i) {
        runtime::v1::ListPodSandboxResponse pods;
        auto context = berth::test::deadline_context();
        ASSERT_TRUE(cri.runtime()
                        .ListPodSandbox(context.get(), runtime::v1::ListPodSandboxRequest(), &pods)
                        .ok());
    }
    ASSERT_TRUE(wait_for_trims(daemon, 2, 30s)) << daemon.log();
    const std::string log = daemon.log();
    // The line gives the resident set before and after, and what it took.
    EXPECT_NE(log.find(" KiB in "), std::string::npos) << log;

    // Idle: nothing new was freed, so nothing is trimmed (nor is berthd woken).
    std::this_thread::sleep_for(8s);
    EXPECT_EQ(trims_logged(daemon), 2) << daemon.log();
}

TEST(MemoryTrim, ARunningCallDoesNotStopTheTrims) {
    // kubelet keeps a GetContainerEvents stream open for good: trims must
    // not wait for "no call in flight".
    BerthdOptions options;
    options.extra_args = {"--log-level", "debug"};
    BerthdInstance daemon(options);
    ASSERT_TRUE(daemon.start());
    ASSERT_TRUE(wait_for_trims(daemon, 1, 30s)) << daemon.log();

    auto runtime = daemon.runtime();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 60s);
    auto events = runtime->GetContainerEvents(&context, runtime::v1::GetEventsRequest());
    ASSERT_TRUE(wait_for_trims(daemon, 2, 30s)) << daemon.log();
    context.TryCancel();
    runtime::v1::ContainerEventResponse ignored;
    while (events->Read(&ignored)) {
    }
    events->Finish();
}

}  // namespace
