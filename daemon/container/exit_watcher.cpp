#include "container/exit_watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace berth::daemon::container {

ExitWatcher::ExitWatcher(std::string directory, Callback on_exit)
    : directory_(std::move(directory)), on_exit_(std::move(on_exit)) {
    std::filesystem::create_directories(directory_);
    inotify_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    stop_ = ::eventfd(0, EFD_CLOEXEC);
    if (inotify_ < 0 || stop_ < 0) {
        throw std::system_error(errno, std::generic_category(), "exit watcher");
    }
    // Monitors rename a complete file into place (IN_MOVED_TO); a plain
    // write-and-close (IN_CLOSE_WRITE) is accepted too.
    if (::inotify_add_watch(inotify_, directory_.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        throw std::system_error(errno, std::generic_category(), "watching " + directory_);
    }
    thread_ = std::thread([this] { run(); });
}

ExitWatcher::~ExitWatcher() {
    const std::uint64_t one = 1;
    if (::write(stop_, &one, sizeof(one)) < 0) {
        spdlog::warn("exit watcher: cannot signal its thread: {}", std::strerror(errno));
    }
    if (thread_.joinable())
        thread_.join();
    ::close(inotify_);
    ::close(stop_);
}

void ExitWatcher::report(const std::string& name) {
    // Temporary files of an atomic write start with a dot; ids have none.
    if (name.empty() || name.find('.') != std::string::npos)
        return;
    try {
        on_exit_(name);
    } catch (const std::exception& error) {
        spdlog::error("handling the exit of {}: {}", name, error.what());
    }
}

void ExitWatcher::run() {
    alignas(inotify_event) char buffer[16 * 1024];
    pollfd fds[2] = {{inotify_, POLLIN, 0}, {stop_, POLLIN, 0}};
    while (true) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            spdlog::error("exit watcher: poll: {}", std::strerror(errno));
            return;
        }
        if (fds[1].revents != 0)
            return;
        const ssize_t length = ::read(inotify_, buffer, sizeof(buffer));
        if (length <= 0)
            continue;
        for (ssize_t at = 0; at < length;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
            at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
            if (event->mask & IN_Q_OVERFLOW) {
                // Events were lost: every exit file present is reported again
                // (recording an exit twice is harmless).
                spdlog::warn("exit watcher: inotify queue overflowed; rescanning {}", directory_);
                std::error_code error;
                for (const auto& entry : std::filesystem::directory_iterator(directory_, error)) {
                    report(entry.path().filename().string());
                }
                continue;
            }
            if (event->len == 0)
                continue;
            report(event->name);
        }
    }
}

}  // namespace berth::daemon::container
