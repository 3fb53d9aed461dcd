// Fans container events out to every GetContainerEvents stream. Each
// subscriber has a bounded queue of its own; publishing only appends to those
// queues under a short lock and never waits for a subscriber. A subscriber
// whose queue is full when an event arrives is dropped (its queue freed, its
// stream told why), so a client that stops reading can neither block
// container operations nor make berthd hoard events for it.
//
// Events keep the order in which they were published, per subscriber;
// ContainerManager publishes under the container's operation lock, which
// orders the events of one container.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "events/container_event.hpp"

namespace berth::daemon::events {

class EventBus;

// One subscriber's end. Unsubscribes when destroyed; must not outlive its
// bus.
class Subscription {
public:
    enum class Outcome {
        Event,    // `event` holds the next event
        Timeout,  // nothing arrived in time: check for cancellation and wait again
        Dropped,  // the queue overflowed; no more events will come
        Closed,   // the bus was closed (berthd is stopping)
    };
    struct Next {
        Outcome outcome = Outcome::Timeout;
        std::shared_ptr<const ContainerEvent> event;
    };

    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

    // The next event, waiting at most `timeout` for one. Events already
    // queued are delivered before a Closed (not before a Dropped: a
    // dropped subscriber has lost events, so what is left would mislead).
    Next next(std::chrono::milliseconds timeout);

private:
    friend class EventBus;
    struct Queue;
    Subscription(EventBus& bus, std::shared_ptr<Queue> queue);

    EventBus& bus_;
    std::shared_ptr<Queue> queue_;
};

class EventBus {
public:
    // `queue_capacity`: events that may wait for one subscriber (>= 1).
    explicit EventBus(std::size_t queue_capacity);
    EventBus(const EventBus&) = delete;
    EventBus& operator=(const EventBus&) = delete;

    // A subscriber that sees every event published from now on. After
    // close(), the subscription reports Closed at once.
    std::unique_ptr<Subscription> subscribe();

    // Hands the event to every subscriber. Never blocks on a subscriber.
    void publish(std::shared_ptr<const ContainerEvent> event);

    // Ends every subscription, now and later (berthd is stopping, and its
    // event streams must not hold up the gRPC server's shutdown).
    void close();

    std::size_t capacity() const { return capacity_; }
    std::size_t subscribers() const;
    std::uint64_t published() const;
    std::uint64_t dropped() const;  // subscribers dropped for overflowing

private:
    friend class Subscription;
    void unsubscribe(const std::shared_ptr<Subscription::Queue>& queue);

    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<Subscription::Queue>> queues_;
    bool closed_ = false;
    std::uint64_t published_ = 0;
    std::uint64_t dropped_ = 0;
};

}  // namespace berth::daemon::events
