#include "events/event_bus.hpp"

#include <algorithm>

namespace berth::daemon::events {

// Guarded by the bus's mutex: publishers and the subscriber meet there, and
// a publisher holds it only to append a pointer.
struct Subscription::Queue {
    std::deque<std::shared_ptr<const ContainerEvent>> events;
    std::condition_variable ready;
    bool dropped = false;
    bool closed = false;
};

const char* to_string(ContainerEventType type) {
    switch (type) {
    case ContainerEventType::Created:
        return "created";
    case ContainerEventType::Started:
        return "started";
    case ContainerEventType::Stopped:
        return "stopped";
    case ContainerEventType::Deleted:
        return "deleted";
    }
    return "unknown";
}

Subscription::Subscription(EventBus& bus, std::shared_ptr<Queue> queue)
    : bus_(bus), queue_(std::move(queue)) {}

Subscription::~Subscription() {
    bus_.unsubscribe(queue_);
}

Subscription::Next Subscription::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(bus_.mutex_);
    queue_->ready.wait_for(lock, timeout, [&] {
        return queue_->dropped || queue_->closed || !queue_->events.empty();
    });
    if (queue_->dropped)
        return {Outcome::Dropped, nullptr};
    if (!queue_->events.empty()) {
        Next next{Outcome::Event, std::move(queue_->events.front())};
        queue_->events.pop_front();
        return next;
    }
    if (queue_->closed)
        return {Outcome::Closed, nullptr};
    return {Outcome::Timeout, nullptr};
}

EventBus::EventBus(std::size_t queue_capacity)
    : capacity_(std::max<std::size_t>(queue_capacity, 1)) {}

std::unique_ptr<Subscription> EventBus::subscribe() {
    auto queue = std::make_shared<Subscription::Queue>();
    std::lock_guard lock(mutex_);
    if (closed_) {
        queue->closed = true;
    } else {
        queues_.push_back(queue);
    }
    return std::unique_ptr<Subscription>(new Subscription(*this, std::move(queue)));
}

void EventBus::publish(std::shared_ptr<const ContainerEvent> event) {
    std::lock_guard lock(mutex_);
    ++published_;
    std::erase_if(queues_, [&](const std::shared_ptr<Subscription::Queue>& queue) {
        if (queue->events.size() >= capacity_) {
            // Dropped rather than waited for: nothing a subscriber does may
            // hold up a container operation.
            queue->dropped = true;
            queue->events.clear();
            queue->events.shrink_to_fit();
            queue->ready.notify_all();
            ++dropped_;
            return true;
        }
        queue->events.push_back(event);
        queue->ready.notify_all();
        return false;
    });
}

void EventBus::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& queue : queues_) {
        queue->closed = true;
        queue->ready.notify_all();
    }
    queues_.clear();
}

void EventBus::unsubscribe(const std::shared_ptr<Subscription::Queue>& queue) {
    std::lock_guard lock(mutex_);
    queues_.erase(std::remove(queues_.begin(), queues_.end(), queue), queues_.end());
}

std::size_t EventBus::subscribers() const {
    std::lock_guard lock(mutex_);
    return queues_.size();
}

std::uint64_t EventBus::published() const {
    std::lock_guard lock(mutex_);
    return published_;
}

std::uint64_t EventBus::dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

}  // namespace berth::daemon::events
