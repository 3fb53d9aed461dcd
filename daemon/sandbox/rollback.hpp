// Undo steps for a multi-step operation: registered as each step succeeds,
// run in reverse order if the operation fails half-way, dropped once it
// succeeds. Undo steps must not throw; failures are logged.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace berth::daemon::sandbox {

class Rollback {
public:
    Rollback() = default;
    Rollback(const Rollback&) = delete;
    Rollback& operator=(const Rollback&) = delete;
    ~Rollback() {
        for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
            try {
                it->second();
            } catch (const std::exception& error) {
                spdlog::warn("undoing {} failed: {}", it->first, error.what());
            }
        }
    }

    void add(std::string what, std::function<void()> undo) {
        steps_.emplace_back(std::move(what), std::move(undo));
    }
    void commit() { steps_.clear(); }

private:
    std::vector<std::pair<std::string, std::function<void()>>> steps_;
};

}  // namespace berth::daemon::sandbox
