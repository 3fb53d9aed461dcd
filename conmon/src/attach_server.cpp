#include "attach_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "unix_socket.hpp"

namespace berth::conmon {

namespace {

// Input packets larger than this are truncated by the kernel (SEQPACKET
// semantics); clients send keystrokes and pieces of files well below it.
constexpr std::size_t kInputPacketMax = 32 * 1024;

}  // namespace

AttachServer::AttachServer(EventLoop& loop, std::string path, std::size_t client_backlog_limit)
    : loop_(loop),
      path_(std::move(path)),
      backlog_limit_(client_backlog_limit),
      listener_(listen_unix(path_, SOCK_SEQPACKET, 0600)) {
    if (listener_ &&
        !loop_.add(listener_.get(), EPOLLIN, [this](std::uint32_t) { accept_clients(); })) {
        listener_.reset();
    }
}

AttachServer::~AttachServer() {
    for (const auto& [fd, client] : clients_) {
        loop_.remove(fd);
    }
    if (listener_) {
        loop_.remove(listener_.get());
        ::unlink(path_.c_str());
    }
}

void AttachServer::accept_clients() {
    for (;;) {
        UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd) {
            return;  // EAGAIN: all accepted (other errors: try on the next event)
        }
        auto client = std::make_unique<Client>();
        client->first = !any_client_seen_;
        any_client_seen_ = true;
        const int number = fd.get();
        client->fd = std::move(fd);
        if (loop_.add(number, interest(*client),
                      [this, number](std::uint32_t events) { handle_client(number, events); })) {
            clients_[number] = std::move(client);
        }
    }
}

std::uint32_t AttachServer::interest(const Client& client) const {
    std::uint32_t events = EPOLLRDHUP;
    if (!input_paused_) {
        events |= EPOLLIN;
    }
    if (!client.queue.empty()) {
        events |= EPOLLOUT;
    }
    return events;
}

void AttachServer::handle_client(int fd, std::uint32_t events) {
    const auto found = clients_.find(fd);
    if (found == clients_.end()) {
        return;
    }
    Client& client = *found->second;
    if ((events & EPOLLOUT) && !send_queued(client)) {
        drop(fd);
        return;
    }
    if (events & EPOLLIN) {
        std::vector<char> buffer(kInputPacketMax);
        const ssize_t count = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (count > 0) {
            if (on_input) {
                on_input(std::string_view(buffer.data(), static_cast<std::size_t>(count)));
            }
            return;
        }
        if (count < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        drop(fd);  // 0: the client closed its end
        return;
    }
    if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
        drop(fd);
    }
}

bool AttachServer::send_queued(Client& client) {
    while (!client.queue.empty()) {
        const std::string& packet = client.queue.front();
        const ssize_t sent =
            ::send(client.fd.get(), packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent < 0 && errno == EAGAIN) {
            break;
        }
        if (sent < 0) {
            return false;
        }
        client.queued_bytes -= packet.size();
        client.queue.pop_front();
    }
    loop_.modify(client.fd.get(), interest(client));
    return true;
}

void AttachServer::broadcast(Stream stream, std::string_view data) {
    if (clients_.empty() || data.empty()) {
        return;
    }
    std::string packet;
    packet.reserve(data.size() + 1);
    packet += static_cast<char>(stream);
    packet.append(data);
    std::vector<int> overflowed;
    for (auto& [fd, client] : clients_) {
        const bool was_idle = client->queue.empty();
        client->queue.push_back(packet);
        client->queued_bytes += packet.size();
        if (client->queued_bytes > backlog_limit_) {
            overflowed.push_back(fd);
            continue;
        }
        if (was_idle && !send_queued(*client)) {
            overflowed.push_back(fd);
        }
    }
    for (const int fd : overflowed) {
        drop(fd);
    }
}

void AttachServer::pause_input(bool paused) {
    if (paused == input_paused_) {
        return;
    }
    input_paused_ = paused;
    for (const auto& [fd, client] : clients_) {
        loop_.modify(fd, interest(*client));
    }
}

void AttachServer::drop(int fd) {
    const auto found = clients_.find(fd);
    if (found == clients_.end()) {
        return;
    }
    const bool first = found->second->first;
    loop_.remove(fd);
    clients_.erase(found);
    if (first && on_first_client_gone) {
        on_first_client_gone();
    }
}

}  // namespace berth::conmon
