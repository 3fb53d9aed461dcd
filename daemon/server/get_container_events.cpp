#include <chrono>
#include <string>

#include "server/container_event_conversion.hpp"
#include "server/runtime_service.hpp"

namespace berth::daemon::server {

namespace {

// How often a stream with nothing to send looks for the client's
// cancellation: a disconnected client frees its subscription within this.
constexpr std::chrono::milliseconds kCancellationCheck(200);

}  // namespace

grpc::Status CriRuntimeService::GetContainerEvents(
    grpc::ServerContext* context, const v1::GetEventsRequest*,
    grpc::ServerWriter<v1::ContainerEventResponse>* writer) {
    auto& bus = state_.events();
    const auto subscription = bus.subscribe();
    // Headers go out once the subscription exists: a client that waits for
    // them knows that no later event will be missed.
    writer->SendInitialMetadata();
    while (!context->IsCancelled()) {
        auto next = subscription->next(kCancellationCheck);
        using Outcome = events::Subscription::Outcome;
        switch (next.outcome) {
        case Outcome::Timeout:
            continue;
        case Outcome::Dropped:
            return {grpc::StatusCode::RESOURCE_EXHAUSTED,
                    "GetContainerEvents: this client fell " + std::to_string(bus.capacity()) +
                        " events behind (berth.api.events_queue_size) and was disconnected; "
                        "events since then are lost: list the containers again and "
                        "resubscribe"};
        case Outcome::Closed:
            return {grpc::StatusCode::UNAVAILABLE, "GetContainerEvents: berthd is shutting down"};
        case Outcome::Event:
            break;
        }
        v1::ContainerEventResponse response;
        fill_container_event(*next.event, &response);
        if (!writer->Write(response))
            break;  // the client is gone
    }
    return {grpc::StatusCode::CANCELLED, "GetContainerEvents: the client cancelled the stream"};
}

}  // namespace berth::daemon::server
