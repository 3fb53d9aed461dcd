// Learns container exits from the exits directory (<runroot>/exits), where
// every monitor renames an exit file into place when its container ends:
// inotify, never polling. One thread; the callback runs on it.
#pragma once

#include <functional>
#include <string>
#include <thread>

namespace berth::daemon::container {

class ExitWatcher {
public:
    using Callback = std::function<void(const std::string& container_id)>;

    // Starts watching `directory` (created if missing). Files already there
    // are not reported: restore reads them itself.
    ExitWatcher(std::string directory, Callback on_exit);
    ~ExitWatcher();
    ExitWatcher(const ExitWatcher&) = delete;
    ExitWatcher& operator=(const ExitWatcher&) = delete;

    const std::string& directory() const { return directory_; }

private:
    void run();
    void report(const std::string& name);

    std::string directory_;
    Callback on_exit_;
    int inotify_ = -1;
    int stop_ = -1;  // an eventfd that ends the thread
    std::thread thread_;
};

}  // namespace berth::daemon::container
