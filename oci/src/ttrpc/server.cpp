#include "ttrpc/server.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>

#include "berth/shim_api.hpp"
#include "ttrpc/frame.hpp"

namespace berth::oci::ttrpc {

namespace {

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t written = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        data.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
}

}  // namespace

Server::Server(std::string socket_path, Handler handler)
    : socket_path_(std::move(socket_path)),
      handler_(std::move(handler)),
      listener_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!listener_ || !wake_)
        throw std::system_error(errno, std::generic_category(), "ttrpc server socket");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path_.size() >= sizeof(address.sun_path))
        throw std::system_error(ENAMETOOLONG, std::generic_category(), socket_path_);
    std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    ::unlink(socket_path_.c_str());
    if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_.get(), 64) != 0) {
        throw std::system_error(errno, std::generic_category(), "listening on " + socket_path_);
    }
    acceptor_ = std::thread([this] { accept_loop(); });
}

Server::~Server() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (const int fd : connections_)
            ::shutdown(fd, SHUT_RDWR);
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto ignored = ::write(wake_.get(), &one, sizeof one);
    acceptor_.join();
    std::unique_lock lock(mutex_);
    all_done_.wait(lock, [&] { return connections_.empty(); });
    lock.unlock();
    ::unlink(socket_path_.c_str());
}

void Server::accept_loop() {
    for (;;) {
        pollfd polled[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
        if (::poll(polled, 2, -1) < 0 && errno != EINTR)
            return;
        if (polled[1].revents != 0)
            return;
        if ((polled[0].revents & POLLIN) == 0)
            continue;
        const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));  // no spinning
            continue;
        }
        std::lock_guard lock(mutex_);
        if (stopping_) {
            ::close(fd);
            return;
        }
        try {
            std::thread([this, fd] { serve(fd); }).detach();
            connections_.push_back(fd);
        } catch (const std::system_error&) {
            ::close(fd);  // no thread to spare: the shim retries its event later
        }
    }
}

void Server::serve(int fd) {
    FrameDecoder decoder;
    char buffer[16 * 1024];
    bool open = true;
    while (open) {
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        decoder.feed(buffer, static_cast<std::size_t>(got));
        try {
            while (auto frame = decoder.next()) {
                if (frame->header.type != kTypeRequest)
                    continue;
                ::ttrpc::Request request;
                ::ttrpc::Response response;
                if (!request.ParseFromString(frame->payload)) {
                    response.mutable_status()->set_code(3);  // INVALID_ARGUMENT
                    response.mutable_status()->set_message("unparsable ttrpc request");
                } else {
                    try {
                        response.set_payload(
                            handler_(request.service(), request.method(), request.payload()));
                    } catch (const Error& error) {
                        response.mutable_status()->set_code(error.status_code());
                        response.mutable_status()->set_message(error.what());
                    } catch (const std::exception& error) {
                        response.mutable_status()->set_code(13);  // INTERNAL
                        response.mutable_status()->set_message(error.what());
                    }
                }
                if (!write_all(fd, encode_frame(frame->header.stream_id, kTypeResponse,
                                                response.SerializeAsString()))) {
                    open = false;
                    break;
                }
            }
        } catch (const Error&) {
            break;  // not ttrpc: drop the connection
        }
    }
    std::lock_guard lock(mutex_);
    std::erase(connections_, fd);
    ::close(fd);
    // Under the lock: the destructor cannot return (and free the condition
    // variable) before this notification is done.
    all_done_.notify_all();
}

}  // namespace berth::oci::ttrpc
