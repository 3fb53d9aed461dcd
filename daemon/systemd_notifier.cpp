#include "systemd_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>

namespace berth::daemon {

namespace {

void notify(const std::string& message) {
    int result = sd_notify(0, message.c_str());
    if (result < 0) {
        spdlog::warn("sd_notify({}) failed: {}", message, result);
    }
}

}  // namespace

void SystemdNotifier::ready(const std::string& status) {
    notify("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::stopping() {
    notify("STOPPING=1\nSTATUS=shutting down");
}

void SystemdNotifier::reloading() {
    notify("RELOADING=1");
}

void SystemdNotifier::reloaded() {
    notify("READY=1");
}

void SystemdNotifier::watchdog() {
    notify("WATCHDOG=1");
}

std::optional<std::chrono::microseconds> SystemdNotifier::watchdog_period() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        return std::chrono::microseconds(usec / 2);
    }
    return std::nullopt;
}

}  // namespace berth::daemon
