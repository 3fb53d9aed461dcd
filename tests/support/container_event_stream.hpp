// One GetContainerEvents stream on a berthd, read on a thread of its own:
// what arrived so far, waited for per container, and how the stream ended.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "berth/cri_api.hpp"

namespace berth::test {

class ContainerEventStream {
public:
    explicit ContainerEventStream(runtime::v1::RuntimeService::Stub& runtime) {
        reader_ = runtime.GetContainerEvents(&context_, {});
        // berthd sends its headers once the subscription exists.
        reader_->WaitForInitialMetadata();
        thread_ = std::thread([this] {
            runtime::v1::ContainerEventResponse event;
            while (reader_->Read(&event)) {
                std::lock_guard lock(mutex_);
                events_.push_back(event);
                changed_.notify_all();
            }
            const auto status = reader_->Finish();
            std::lock_guard lock(mutex_);
            status_ = status;
            finished_ = true;
            changed_.notify_all();
        });
    }
    ~ContainerEventStream() {
        context_.TryCancel();
        thread_.join();
    }

    // The events of one container, waiting until `count` arrived (or
    // `limit` passed).
    std::vector<runtime::v1::ContainerEventResponse> of(
        const std::string& id, std::size_t count,
        std::chrono::milliseconds limit = std::chrono::seconds(30)) {
        std::unique_lock lock(mutex_);
        std::vector<runtime::v1::ContainerEventResponse> found;
        changed_.wait_for(lock, limit, [&] {
            found.clear();
            for (const auto& event : events_) {
                if (event.container_id() == id)
                    found.push_back(event);
            }
            return found.size() >= count || finished_;
        });
        return found;
    }
    std::size_t total() {
        std::lock_guard lock(mutex_);
        return events_.size();
    }
    // The stream's final status once it ended (waits up to `limit`).
    std::optional<grpc::Status> finish(std::chrono::seconds limit = std::chrono::seconds(30)) {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, limit, [&] { return finished_; }))
            return std::nullopt;
        return status_;
    }
    void cancel() { context_.TryCancel(); }

private:
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReader<runtime::v1::ContainerEventResponse>> reader_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<runtime::v1::ContainerEventResponse> events_;
    bool finished_ = false;
    grpc::Status status_;
    std::thread thread_;
};

}  // namespace berth::test
