// The daemon's current configuration. Most keys are fixed at start; the few
// that SIGHUP may change (log level) are swapped in whole, so a reader always
// sees one consistent Config.
#pragma once

#include <memory>
#include <mutex>

#include "berth/config/config.hpp"

namespace berth::daemon {

class ConfigHolder {
public:
    explicit ConfigHolder(config::Config initial)
        : current_(std::make_shared<const config::Config>(std::move(initial))) {}

    std::shared_ptr<const config::Config> current() const {
        std::lock_guard lock(mutex_);
        return current_;
    }

    void replace(config::Config next) {
        auto fresh = std::make_shared<const config::Config>(std::move(next));
        std::lock_guard lock(mutex_);
        current_ = std::move(fresh);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const config::Config> current_;
};

}  // namespace berth::daemon
