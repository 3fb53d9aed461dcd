// Accepts connections on Berth's own listening socket and hands each one to
// the gRPC server. Owning the listening socket (instead of letting gRPC bind
// "unix:PATH") is what lets berthd refuse a live socket, set its mode before
// anyone connects, and serve a socket passed by systemd activation.
#pragma once

#include <thread>

#include "unique_fd.hpp"

namespace grpc {
class Server;
}

namespace berth::daemon {

class GrpcConnectionFeeder {
public:
    GrpcConnectionFeeder(int listen_fd, grpc::Server& server);
    ~GrpcConnectionFeeder();
    GrpcConnectionFeeder(const GrpcConnectionFeeder&) = delete;
    GrpcConnectionFeeder& operator=(const GrpcConnectionFeeder&) = delete;

    // Stops accepting and returns once the accept thread has ended; accepted
    // connections stay with the gRPC server.
    void stop();

private:
    void run();

    int listen_fd_;
    grpc::Server& server_;
    UniqueFd wakeup_;  // eventfd that interrupts the poll() in run()
    std::thread thread_;
};

}  // namespace berth::daemon
