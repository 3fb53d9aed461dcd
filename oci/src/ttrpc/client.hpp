// A ttrpc client: unary calls to a containerd shim v2 over one unix socket.
//
// Calls from any number of threads share the connection. Each gets the next
// odd stream id; one reader thread matches responses to waiting calls by that
// id, so answers may come back in any order. A call that times out forgets
// its stream id: a response arriving later is dropped like any response
// nobody waits for.
#pragma once

#include <berth/stream/owned_fd.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ttrpc/frame.hpp"

namespace berth::oci::ttrpc {

class Client {
public:
    // Connects to "unix:///path", "unix://path", "/path" or an abstract socket
    // ("unix://@name", "@name"). Throws Error(Closed) when the connection is
    // refused or the path is wrong (the message names the address and the
    // reason), Error(Timeout) when connecting takes longer than `timeout`
    // (zero: no limit).
    static std::unique_ptr<Client> connect(const std::string& address,
                                           std::chrono::milliseconds timeout);

    // Takes over a connected stream socket (blocking or not). `peer_name`
    // appears in error messages. Throws std::invalid_argument on an invalid fd.
    Client(stream::OwnedFd socket, std::string peer_name);
    // Closes the connection (pending calls fail with Closed) and waits for the
    // reader thread. Calls still running in other threads must have returned
    // before the Client is destroyed.
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends one request and returns the response payload.
    //
    // timeout > 0: sent to the shim as the request's deadline and enforced
    // here as well, so that a hung shim yields Error(Timeout) instead of a
    // stuck caller. timeout == 0: waits for the answer or the end of the
    // connection; the write of the request is still bounded (kStalledSendLimit),
    // as a peer that stopped reading will not answer either.
    //
    // Errors: Status (the shim's code and message), Closed (connection ended
    // before the answer, or was closed already), Timeout, Protocol (the
    // response is not a ttrpc.Response, or the connection carried something
    // that is not ttrpc: such a connection is closed and its pending calls
    // fail with Protocol).
    std::string call(const std::string& service, const std::string& method,
                     const std::string& payload, std::chrono::milliseconds timeout);

    // The same with protobuf messages. An unparsable answer is Error(Protocol).
    template <typename Response, typename Request>
    Response call(const std::string& service, const std::string& method, const Request& request,
                  std::chrono::milliseconds timeout) {
        std::string bytes;
        if (!request.SerializeToString(&bytes)) {
            throw Error(Error::Kind::Protocol,
                        "cannot serialize the request for " + service + "/" + method);
        }
        Response response;
        if (!response.ParseFromString(call(service, method, bytes, timeout))) {
            throw Error(Error::Kind::Protocol, "shim " + peer_name_ + " answered " + service + "/" +
                                                   method + " with an unparsable message");
        }
        return response;
    }

    // True once the connection has ended: the peer closed it, a read or write
    // failed, the peer sent something that is not ttrpc, or close() was called.
    bool closed() const;
    // Ends the connection now; pending and later calls fail with Closed.
    void close();

    const std::string& peer_name() const { return peer_name_; }

    // How long the write of a request without a timeout may make no progress.
    static constexpr std::chrono::seconds kStalledSendLimit{30};

private:
    struct Pending {
        std::condition_variable answered;
        bool done = false;
        std::string response;  // a serialized ttrpc.Response
        std::optional<Error> error;
    };

    void read_loop();
    void deliver(Frame frame);
    void send_frame(const std::string& frame, std::chrono::steady_clock::time_point deadline,
                    const std::string& what);
    // Marks the connection ended (the first reason sticks), fails every
    // pending call with an error of `kind`, and shuts the socket down so that
    // the reader thread and any writer wake up.
    void end_connection(Error::Kind kind, const std::string& reason);

    stream::OwnedFd socket_;  // closed only by the destructor, after the reader has stopped
    std::string peer_name_;

    mutable std::mutex mutex_;  // guards everything below but the write lock
    bool closed_ = false;
    std::string close_reason_;
    std::uint32_t next_stream_id_ = 1;
    std::map<std::uint32_t, std::shared_ptr<Pending>> pending_;

    // Serializes writes, so that frames never interleave: one writer at a
    // time holds `writing_`, the others wait on `write_done_` (under mutex_)
    // no longer than their own deadline, as a write may be stuck on a peer
    // that stopped reading. (Not a std::timed_mutex: ThreadSanitizer does not
    // see the pthread_mutex_clocklock it is built on and reports false races.)
    bool writing_ = false;
    std::condition_variable write_done_;

    std::thread reader_;
};

}  // namespace berth::oci::ttrpc
