#include "event_loop.hpp"

#include <sys/epoll.h>

#include <cerrno>

namespace berth::conmon {

namespace {

std::uint64_t pack(int fd, std::uint32_t generation) {
    return (static_cast<std::uint64_t>(generation) << 32) | static_cast<std::uint32_t>(fd);
}

}  // namespace

EventLoop::EventLoop() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {}

bool EventLoop::add(int fd, std::uint32_t events, Handler handler) {
    const std::uint32_t generation = next_generation_++;
    epoll_event event{};
    event.events = events;
    event.data.u64 = pack(fd, generation);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
        return false;
    }
    entries_[fd] = Entry{generation, std::make_shared<Handler>(std::move(handler))};
    return true;
}

void EventLoop::modify(int fd, std::uint32_t events) {
    const auto found = entries_.find(fd);
    if (found == entries_.end()) {
        return;
    }
    epoll_event event{};
    event.events = events;
    event.data.u64 = pack(fd, found->second.generation);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event);
}

void EventLoop::remove(int fd) {
    if (entries_.erase(fd) > 0) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    }
}

void EventLoop::run_once(int timeout_ms) {
    epoll_event events[16];
    const int count = ::epoll_wait(epoll_.get(), events, 16, timeout_ms);
    for (int i = 0; i < count; ++i) {
        const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
        const auto generation = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
        const auto found = entries_.find(fd);
        if (found == entries_.end() || found->second.generation != generation) {
            continue;
        }
        // Keeps the handler alive even if it removes its own fd.
        const auto handler = found->second.handler;
        (*handler)(events[i].events);
    }
}

}  // namespace berth::conmon
