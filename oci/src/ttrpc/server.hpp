// A small ttrpc server: what berthd offers shims in return, namely the
// address their event publisher sends task events to (TTRPC_ADDRESS). A
// thread accepts; each connection is served on a thread of its own, its
// unary calls answered in order. Enough for publishers, which send one call
// at a time.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "berth/stream/owned_fd.hpp"

namespace berth::oci::ttrpc {

class Server {
public:
    // Answers one call: the response payload (a serialized message). Throw
    // Error(Status) to answer with that status instead.
    using Handler = std::function<std::string(const std::string& service, const std::string& method,
                                              const std::string& payload)>;

    // Listens on `socket_path` (a stale socket there is replaced). Throws
    // std::system_error naming the path.
    Server(std::string socket_path, Handler handler);
    // Stops accepting, ends every connection and waits for their threads.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    const std::string& socket_path() const { return socket_path_; }

private:
    void accept_loop();
    void serve(int fd);

    std::string socket_path_;
    Handler handler_;
    stream::OwnedFd listener_;
    stream::OwnedFd wake_;  // eventfd: the destructor wants the accept loop to end

    std::mutex mutex_;
    std::condition_variable all_done_;
    bool stopping_ = false;
    // Open connections (shut down at the end). Their threads are detached
    // and leave this list last thing, so that none outlives the Server and
    // finished ones cost nothing.
    std::vector<int> connections_;
    std::thread acceptor_;
};

}  // namespace berth::oci::ttrpc
