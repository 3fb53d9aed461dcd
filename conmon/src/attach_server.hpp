// The attach socket: a SOCK_SEQPACKET listener. Every client receives the
// container's output as packets `[stream byte][data]`; packets a client sends
// are the container's input. A client that cannot keep up is dropped rather
// than ever blocking the container.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "berth/conmon/stream.hpp"
#include "berth/conmon/unique_fd.hpp"
#include "event_loop.hpp"

namespace berth::conmon {

class AttachServer {
public:
    // Binds the socket at `path` (0600); check `valid()`.
    AttachServer(EventLoop& loop, std::string path, std::size_t client_backlog_limit);
    ~AttachServer();
    AttachServer(const AttachServer&) = delete;
    AttachServer& operator=(const AttachServer&) = delete;

    bool valid() const { return listener_.valid(); }
    void broadcast(Stream stream, std::string_view data);
    // Stops (or resumes) reading input from clients while stdin is backed up.
    void pause_input(bool paused);

    std::function<void(std::string_view)> on_input;
    // The first client that ever attached went away (for --stdin-once).
    std::function<void()> on_first_client_gone;

private:
    struct Client {
        UniqueFd fd;
        std::deque<std::string> queue;
        std::size_t queued_bytes = 0;
        bool first = false;
    };

    void accept_clients();
    void handle_client(int fd, std::uint32_t events);
    bool send_queued(Client& client);
    void drop(int fd);
    std::uint32_t interest(const Client& client) const;

    EventLoop& loop_;
    std::string path_;
    std::size_t backlog_limit_;
    UniqueFd listener_;
    std::map<int, std::unique_ptr<Client>> clients_;
    bool any_client_seen_ = false;
    bool input_paused_ = false;
};

}  // namespace berth::conmon
