// sd_notify messages for Type=notify units. Without NOTIFY_SOCKET they are
// no-ops, so berthd behaves the same outside systemd.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace berth::daemon {

class SystemdNotifier {
public:
    void ready(const std::string& status);
    void stopping();
    void reloading();
    void reloaded();
    void watchdog();

    // Half the watchdog interval systemd asked for (WATCHDOG_USEC), if any.
    static std::optional<std::chrono::microseconds> watchdog_period();
};

}  // namespace berth::daemon
