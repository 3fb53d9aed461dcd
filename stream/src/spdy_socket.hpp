// The socket under a SPDY session: owns the fd, makes every blocking call
// wait in poll() so that it can time out, and can wake all waiters at once
// when the session ends (an eventfd that stays readable once signalled).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace berth::stream::detail {

class SpdySocket {
public:
    // Takes ownership of `fd`, which is switched to non-blocking mode.
    explicit SpdySocket(int fd);
    ~SpdySocket();
    SpdySocket(const SpdySocket&) = delete;
    SpdySocket& operator=(const SpdySocket&) = delete;

    enum class Status { Ok, Eof, Woken, TimedOut, Failed };
    struct Result {
        Status status = Status::Ok;
        std::size_t bytes = 0;
        std::string error;  // for Failed and TimedOut
    };

    // Reads what is available, waiting up to `timeout` (negative: forever).
    Result read_some(char* buffer, std::size_t size, std::chrono::milliseconds timeout);
    // Writes `first` then `second` completely. `timeout` bounds each wait for
    // the socket to accept more bytes (progress resets it), so a slow peer
    // keeps going while a vanished one fails; zero or negative waits forever.
    Result write_all(std::string_view first, std::string_view second,
                     std::chrono::milliseconds timeout);

    // Makes every current and future wait return Woken.
    void wake();
    void shutdown_write();
    void close();

private:
    int fd_ = -1;
    int wake_fd_ = -1;
};

}  // namespace berth::stream::detail
