#include "memory/trim_schedule.hpp"

#include <algorithm>

namespace berth::daemon::memory {

void TrimSchedule::on_activity(Clock::time_point now) {
    if (!first_activity_)
        first_activity_ = now;
    last_activity_ = std::max(last_activity_, now);
}

std::optional<TrimSchedule::Clock::time_point> TrimSchedule::due() const {
    if (!first_activity_)
        return std::nullopt;
    return std::min(last_activity_ + quiet_, *first_activity_ + max_interval_);
}

void TrimSchedule::on_trimmed() {
    first_activity_.reset();
}

}  // namespace berth::daemon::memory
