// A single-threaded epoll loop: each watched fd has one handler.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "berth/conmon/unique_fd.hpp"

namespace berth::conmon {

class EventLoop {
public:
    using Handler = std::function<void(std::uint32_t events)>;

    EventLoop();
    bool valid() const { return epoll_.valid(); }

    bool add(int fd, std::uint32_t events, Handler handler);
    void modify(int fd, std::uint32_t events);
    void remove(int fd);
    // Waits up to `timeout_ms` (-1: forever) and runs the handlers of ready fds.
    void run_once(int timeout_ms);

private:
    struct Entry {
        std::uint32_t generation;
        std::shared_ptr<Handler> handler;
    };
    UniqueFd epoll_;
    // A handler may remove fds and a new fd may reuse the number within one
    // batch of events; the generation tells stale events apart.
    std::map<int, Entry> entries_;
    std::uint32_t next_generation_ = 1;
};

}  // namespace berth::conmon
