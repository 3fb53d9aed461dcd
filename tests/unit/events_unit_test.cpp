// The container event bus (daemon/events/) and the CRI form of its events:
// order, several subscribers, a full queue that drops its subscriber while
// the publisher goes on, close at shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "events/event_bus.hpp"
#include "server/container_event_conversion.hpp"

namespace v1 = runtime::v1;
using berth::daemon::events::ContainerEvent;
using berth::daemon::events::ContainerEventType;
using berth::daemon::events::EventBus;
using berth::daemon::events::Subscription;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const ContainerEvent> event(const std::string& id,
                                            ContainerEventType type = ContainerEventType::Created) {
    auto made = std::make_shared<ContainerEvent>();
    made->container_id = id;
    made->type = type;
    return made;
}

// The next event's container id, "" when the outcome is not an event.
std::string next_id(Subscription& subscription, std::chrono::milliseconds wait = 1s) {
    const auto next = subscription.next(wait);
    return next.outcome == Subscription::Outcome::Event ? next.event->container_id : "";
}

TEST(EventBus, DeliversEventsInTheOrderTheyWerePublished) {
    EventBus bus(1000);
    const auto subscription = bus.subscribe();
    for (int i = 0; i < 500; ++i)
        bus.publish(event(std::to_string(i)));
    for (int i = 0; i < 500; ++i)
        ASSERT_EQ(next_id(*subscription), std::to_string(i));
    EXPECT_EQ(subscription->next(10ms).outcome, Subscription::Outcome::Timeout);
    EXPECT_EQ(bus.published(), 500u);
}

TEST(EventBus, KeepsOrderWhileTheReaderRunsConcurrently) {
    EventBus bus(64);
    const auto subscription = bus.subscribe();
    std::vector<std::string> seen;
    std::atomic<std::size_t> consumed{0};
    std::thread reader([&] {
        while (seen.size() < 2000) {
            const auto next = subscription->next(5s);
            if (next.outcome != Subscription::Outcome::Event)
                return;
            seen.push_back(next.event->container_id);
            ++consumed;
        }
    });
    for (std::size_t i = 0; i < 2000; ++i) {
        // Never more than half the queue ahead of the reader: this test is
        // about order, not overflow.
        while (i - consumed.load() >= 32 && bus.subscribers() == 1)
            std::this_thread::yield();
        bus.publish(event(std::to_string(i)));
    }
    reader.join();
    ASSERT_EQ(seen.size(), 2000u);
    for (int i = 0; i < 2000; ++i)
        ASSERT_EQ(seen[static_cast<std::size_t>(i)], std::to_string(i));
}

TEST(EventBus, EverySubscriberSeesEveryEvent) {
    EventBus bus(100);
    const auto first = bus.subscribe();
    const auto second = bus.subscribe();
    EXPECT_EQ(bus.subscribers(), 2u);
    bus.publish(event("a", ContainerEventType::Created));
    bus.publish(event("a", ContainerEventType::Started));
    for (auto* subscription : {first.get(), second.get()}) {
        auto next = subscription->next(1s);
        ASSERT_EQ(next.outcome, Subscription::Outcome::Event);
        EXPECT_EQ(next.event->type, ContainerEventType::Created);
        next = subscription->next(1s);
        ASSERT_EQ(next.outcome, Subscription::Outcome::Event);
        EXPECT_EQ(next.event->type, ContainerEventType::Started);
    }
}

TEST(EventBus, SubscribersSeeOnlyWhatIsPublishedAfterThem) {
    EventBus bus(10);
    bus.publish(event("before"));
    const auto subscription = bus.subscribe();
    bus.publish(event("after"));
    EXPECT_EQ(next_id(*subscription), "after");
    EXPECT_EQ(subscription->next(10ms).outcome, Subscription::Outcome::Timeout);
}

TEST(EventBus, AFullQueueDropsItsSubscriberWithoutBlockingThePublisher) {
    EventBus bus(8);
    const auto stalled = bus.subscribe();  // never reads until the end
    const auto reader = bus.subscribe();
    std::atomic<std::size_t> consumed{0};
    std::thread publisher([&] {
        for (std::size_t i = 0; i < 100; ++i) {
            // Paced by the reader alone (never more than half its queue
            // ahead); the stalled subscriber must not hold it up at all.
            const auto give_up = std::chrono::steady_clock::now() + 5s;
            while (i - consumed.load() >= 4 && std::chrono::steady_clock::now() < give_up)
                std::this_thread::yield();
            bus.publish(event(std::to_string(i)));
        }
    });
    std::vector<std::string> seen;
    while (seen.size() < 100) {
        const auto id = next_id(*reader, 5s);
        if (id.empty())
            break;
        seen.push_back(id);
        ++consumed;
    }
    publisher.join();
    ASSERT_EQ(seen.size(), 100u) << "the reader was dropped or starved";
    EXPECT_EQ(seen.back(), "99");
    // The stalled one overflowed at its 9th event and was dropped: no events
    // are handed out any more (those it missed would make the rest a lie).
    EXPECT_EQ(stalled->next(0ms).outcome, Subscription::Outcome::Dropped);
    EXPECT_EQ(stalled->next(0ms).outcome, Subscription::Outcome::Dropped);
    EXPECT_EQ(bus.subscribers(), 1u);
    EXPECT_EQ(bus.dropped(), 1u);
}

TEST(EventBus, ASubscriberThatIsWaitingLearnsAtOnceThatItWasDropped) {
    EventBus bus(1);
    const auto subscription = bus.subscribe();
    bus.publish(event("0"));
    bus.publish(event("1"));  // overflows: dropped
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(subscription->next(10s).outcome, Subscription::Outcome::Dropped);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
}

TEST(EventBus, CloseDeliversWhatIsQueuedThenEndsEverySubscription) {
    EventBus bus(10);
    const auto subscription = bus.subscribe();
    bus.publish(event("last"));
    std::thread closer([&] { bus.close(); });
    closer.join();
    EXPECT_EQ(next_id(*subscription), "last");
    EXPECT_EQ(subscription->next(10s).outcome, Subscription::Outcome::Closed);
    const auto late = bus.subscribe();
    EXPECT_EQ(late->next(10s).outcome, Subscription::Outcome::Closed);
    bus.publish(event("ignored"));  // nobody left to hand it to
    EXPECT_EQ(bus.subscribers(), 0u);
}

TEST(EventBus, ASubscriptionUnsubscribesWhenItEnds) {
    EventBus bus(10);
    {
        const auto subscription = bus.subscribe();
        EXPECT_EQ(bus.subscribers(), 1u);
    }
    EXPECT_EQ(bus.subscribers(), 0u);
    bus.publish(event("x"));
}

TEST(ContainerEventConversion, CarriesTheTypeTimeAndThePodsStatuses) {
    auto pod = std::make_shared<berth::daemon::sandbox::Sandbox>();
    pod->id = std::string(64, 'a');
    pod->config.mutable_metadata()->set_name("pod");
    pod->state = berth::daemon::sandbox::SandboxState::Ready;
    auto container = std::make_shared<berth::daemon::container::Container>();
    container->id = std::string(64, 'b');
    container->sandbox_id = pod->id;
    container->config.mutable_metadata()->set_name("app");
    container->state = berth::daemon::container::ContainerState::Running;
    container->exit_code = 0;

    const std::pair<ContainerEventType, v1::ContainerEventType> types[] = {
        {ContainerEventType::Created, v1::CONTAINER_CREATED_EVENT},
        {ContainerEventType::Started, v1::CONTAINER_STARTED_EVENT},
        {ContainerEventType::Stopped, v1::CONTAINER_STOPPED_EVENT},
        {ContainerEventType::Deleted, v1::CONTAINER_DELETED_EVENT},
    };
    for (const auto& [ours, cri] : types) {
        ContainerEvent source;
        source.type = ours;
        source.container_id = container->id;
        source.sandbox_id = pod->id;
        source.created_at = 1234567890123456789;
        source.sandbox = pod;
        source.containers = {container};
        v1::ContainerEventResponse response;
        berth::daemon::server::fill_container_event(source, &response);
        EXPECT_EQ(response.container_event_type(), cri);
        EXPECT_EQ(response.container_id(), container->id);
        EXPECT_EQ(response.created_at(), 1234567890123456789);
        EXPECT_EQ(response.pod_sandbox_status().id(), pod->id);
        EXPECT_EQ(response.pod_sandbox_status().state(), v1::SANDBOX_READY);
        ASSERT_EQ(response.containers_statuses_size(), 1);
        EXPECT_EQ(response.containers_statuses(0).id(), container->id);
        EXPECT_EQ(response.containers_statuses(0).state(), v1::CONTAINER_RUNNING);
        EXPECT_EQ(response.containers_statuses(0).metadata().name(), "app");
    }

    ContainerEvent orphan;  // the pod is gone: no pod status at all
    orphan.type = ContainerEventType::Deleted;
    orphan.container_id = container->id;
    v1::ContainerEventResponse response;
    berth::daemon::server::fill_container_event(orphan, &response);
    EXPECT_FALSE(response.has_pod_sandbox_status());
    EXPECT_EQ(response.containers_statuses_size(), 0);
}

}  // namespace
