#include "container/monitor_watcher.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace berth::daemon::container {

MonitorWatcher::MonitorWatcher(std::chrono::milliseconds grace, Callback on_died, Settle on_settle)
    : grace_(grace), on_died_(std::move(on_died)), on_settle_(std::move(on_settle)) {
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    stop_.reset(::eventfd(0, EFD_CLOEXEC));
    if (!epoll_ || !stop_)
        throw std::system_error(errno, std::generic_category(), "monitor watcher");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = 0;  // the stop eventfd; monitors have keys from 1
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, stop_.get(), &event) != 0)
        throw std::system_error(errno, std::generic_category(), "monitor watcher");
    thread_ = std::thread([this] { run(); });
}

MonitorWatcher::~MonitorWatcher() {
    const std::uint64_t one = 1;
    if (::write(stop_.get(), &one, sizeof(one)) < 0)
        spdlog::warn("monitor watcher: cannot signal its thread: {}", std::strerror(errno));
    if (thread_.joinable())
        thread_.join();
}

void MonitorWatcher::watch(const std::string& container_id, UniqueFd pidfd) {
    std::lock_guard lock(mutex_);
    if (const auto old = entries_.find(container_id); old != entries_.end()) {
        ids_.erase(old->second.key);
        entries_.erase(old);  // closing the pidfd drops it from the epoll
    }
    const std::uint64_t key = next_key_++;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = key;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, pidfd.get(), &event) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "watching the monitor of container " + container_id);
    }
    ids_[key] = container_id;
    entries_[container_id] = Entry{std::move(pidfd), key, false};
}

void MonitorWatcher::forget(const std::string& container_id) {
    std::lock_guard lock(mutex_);
    const auto found = entries_.find(container_id);
    if (found == entries_.end())
        return;
    ids_.erase(found->second.key);
    entries_.erase(found);
}

bool MonitorWatcher::exited(const std::string& container_id) const {
    std::lock_guard lock(mutex_);
    const auto found = entries_.find(container_id);
    return found != entries_.end() && found->second.exited;
}

std::size_t MonitorWatcher::watched() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void MonitorWatcher::mark_exited(std::uint64_t key) {
    std::string id;
    {
        std::lock_guard lock(mutex_);
        const auto found = ids_.find(key);
        if (found == ids_.end())
            return;  // forgotten meanwhile
        id = found->second;
        Entry& entry = entries_.at(id);
        if (entry.exited)
            return;
        entry.exited = true;
        // A pidfd stays readable once its process is gone: out of the epoll.
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, entry.pidfd.get(), nullptr);
    }
    pending_.push_back({id, key, std::chrono::steady_clock::now() + grace_});
    try {
        on_died_(id);
    } catch (const std::exception& error) {
        spdlog::error("the monitor of container {} died: {}", id, error.what());
    }
}

void MonitorWatcher::settle_due() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<Pending> due;
    auto split = std::partition(pending_.begin(), pending_.end(),
                                [&](const Pending& pending) { return pending.due > now; });
    due.assign(std::make_move_iterator(split), std::make_move_iterator(pending_.end()));
    pending_.erase(split, pending_.end());
    for (auto& pending : due) {
        {
            std::lock_guard lock(mutex_);
            const auto found = ids_.find(pending.key);
            if (found == ids_.end())
                continue;  // forgotten (removed, or watched anew) meanwhile
        }
        bool settled = true;
        try {
            settled = on_settle_(pending.id);
        } catch (const std::exception& error) {
            spdlog::error("container {}: settling after its monitor died: {}", pending.id,
                          error.what());
        }
        if (!settled) {
            pending.due = std::chrono::steady_clock::now() + grace_;
            pending_.push_back(std::move(pending));
            continue;
        }
        std::lock_guard lock(mutex_);
        if (ids_.count(pending.key) != 0) {
            entries_.erase(pending.id);
            ids_.erase(pending.key);
        }
    }
}

int MonitorWatcher::next_timeout() const {
    if (pending_.empty())
        return -1;
    const auto first =
        std::min_element(pending_.begin(), pending_.end(),
                         [](const Pending& a, const Pending& b) { return a.due < b.due; });
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        first->due - std::chrono::steady_clock::now());
    // Rounded up, so that the wake-up is never early.
    return static_cast<int>(std::max<long>(left.count() + 1, 0));
}

void MonitorWatcher::run() {
    epoll_event events[16];
    while (true) {
        const int count = ::epoll_wait(epoll_.get(), events, 16, next_timeout());
        if (count < 0 && errno != EINTR) {
            spdlog::error("monitor watcher: epoll_wait: {}", std::strerror(errno));
            return;
        }
        for (int index = 0; index < count; ++index) {
            if (events[index].data.u64 == 0)
                return;
            mark_exited(events[index].data.u64);
        }
        settle_due();
    }
}

}  // namespace berth::daemon::container
