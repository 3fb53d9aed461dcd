// Where one scenario's measurements on one runtime go: the latency samples
// and the errors of each operation, in the order the operations first
// appeared, shared by every worker thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace berth::bench {

struct OperationData {
    std::vector<double> samples_ms;
    std::size_t errors = 0;
    // The first few distinct messages, so that a run failing the same way a
    // hundred times says so once.
    std::vector<std::string> messages;
};

class Recorder {
public:
    // A recorder for warm-up iterations drops samples but keeps errors:
    // failures are never hidden, only the timings are discarded.
    explicit Recorder(bool keep_samples = true) : keep_samples_(keep_samples) {}

    void add_sample(const std::string& operation, double milliseconds);
    void add_error(const std::string& operation, const std::string& message);
    // Errors (and, if it keeps them, samples) of `other` added to this one.
    void merge(const Recorder& other);

    std::vector<std::string> operations() const;
    OperationData data(const std::string& operation) const;
    std::size_t total_errors() const;

private:
    OperationData& entry(const std::string& operation);

    bool keep_samples_;
    mutable std::mutex mutex_;
    std::vector<std::string> order_;
    std::map<std::string, OperationData> operations_;
};

// Milliseconds since `start`, as a double.
inline double elapsed_ms(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

}  // namespace berth::bench
