#include "recorder.hpp"

#include <algorithm>

namespace berth::bench {

namespace {
constexpr std::size_t kMessagesKept = 5;
}

OperationData& Recorder::entry(const std::string& operation) {
    auto found = operations_.find(operation);
    if (found == operations_.end()) {
        order_.push_back(operation);
        found = operations_.emplace(operation, OperationData{}).first;
    }
    return found->second;
}

void Recorder::add_sample(const std::string& operation, double milliseconds) {
    std::lock_guard lock(mutex_);
    auto& data = entry(operation);
    if (keep_samples_)
        data.samples_ms.push_back(milliseconds);
}

void Recorder::add_error(const std::string& operation, const std::string& message) {
    std::lock_guard lock(mutex_);
    auto& data = entry(operation);
    ++data.errors;
    if (data.messages.size() < kMessagesKept &&
        std::find(data.messages.begin(), data.messages.end(), message) == data.messages.end()) {
        data.messages.push_back(message);
    }
}

void Recorder::merge(const Recorder& other) {
    for (const auto& operation : other.operations()) {
        const auto data = other.data(operation);
        std::lock_guard lock(mutex_);
        auto& mine = entry(operation);
        if (keep_samples_) {
            mine.samples_ms.insert(mine.samples_ms.end(), data.samples_ms.begin(),
                                   data.samples_ms.end());
        }
        mine.errors += data.errors;
        for (const auto& message : data.messages) {
            if (mine.messages.size() < kMessagesKept &&
                std::find(mine.messages.begin(), mine.messages.end(), message) ==
                    mine.messages.end()) {
                mine.messages.push_back(message);
            }
        }
    }
}

std::vector<std::string> Recorder::operations() const {
    std::lock_guard lock(mutex_);
    return order_;
}

OperationData Recorder::data(const std::string& operation) const {
    std::lock_guard lock(mutex_);
    const auto found = operations_.find(operation);
    return found == operations_.end() ? OperationData{} : found->second;
}

std::size_t Recorder::total_errors() const {
    std::lock_guard lock(mutex_);
    std::size_t total = 0;
    for (const auto& [name, data] : operations_)
        total += data.errors;
    return total;
}

}  // namespace berth::bench
