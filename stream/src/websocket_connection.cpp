#include "berth/stream/websocket_connection.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace berth::stream {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 64 * 1024;

// Milliseconds left until `deadline` for poll(), never negative.
int poll_timeout(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0)
        return 0;
    return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

bool is_normal_close(std::uint16_t code) {
    return code == close_code::kNormal || code == close_code::kGoingAway ||
           code == close_code::kNoStatus;
}

}  // namespace

WebSocketConnection::WebSocketConnection(OwnedFd fd, WebSocketRole role, std::string initial_input)
    : WebSocketConnection(std::move(fd), role, std::move(initial_input), Options{}) {}

WebSocketConnection::WebSocketConnection(OwnedFd fd, WebSocketRole role, std::string initial_input,
                                         const Options& options)
    : fd_(std::move(fd)),
      role_(role),
      options_(options),
      decoder_(role, options.max_frame_payload) {
    if (options_.max_send_fragment == 0) {
        options_.max_send_fragment = 1;
    }
    decoder_.feed(initial_input);
}

WebSocketConnection::~WebSocketConnection() = default;

std::string WebSocketConnection::error() const {
    std::lock_guard lock(state_mutex_);
    return error_;
}

std::optional<WebSocketCloseStatus> WebSocketConnection::peer_close_status() const {
    std::lock_guard lock(state_mutex_);
    return peer_close_;
}

void WebSocketConnection::set_error_if_unset(const std::string& message) {
    std::lock_guard lock(state_mutex_);
    if (error_.empty()) {
        error_ = message;
    }
}

void WebSocketConnection::mark_finished() {
    {
        std::lock_guard lock(state_mutex_);
        finished_ = true;
    }
    finished_cv_.notify_all();
}

void WebSocketConnection::on_eof() {
    {
        std::lock_guard lock(state_mutex_);
        // EOF after a Close or a failed write is expected and already explained.
        if (!finished_ && error_.empty()) {
            error_ = "connection closed without a Close frame";
        }
    }
    mark_finished();
}

void WebSocketConnection::shutdown() {
    ::shutdown(fd_.get(), SHUT_RDWR);
}

WebSocketConnection::ReadResult WebSocketConnection::read_some(Clock::time_point deadline,
                                                               bool has_deadline) {
    std::array<char, kReadChunk> buffer;
    for (;;) {
        pollfd pfd{fd_.get(), POLLIN, 0};
        const int ready = ::poll(&pfd, 1, has_deadline ? poll_timeout(deadline) : -1);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            set_error_if_unset(std::string("poll failed: ") + std::strerror(errno));
            return ReadResult::Error;
        }
        if (ready == 0) {
            return ReadResult::Timeout;
        }
        // MSG_DONTWAIT: the socket may be blocking, and poll() can wake
        // spuriously; a reader must never block past its deadline.
        const ssize_t got = ::recv(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (got > 0) {
            decoder_.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
            return ReadResult::Data;
        }
        if (got == 0) {
            return ReadResult::Eof;
        }
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        set_error_if_unset(std::string("read failed: ") + std::strerror(errno));
        return ReadResult::Error;
    }
}

bool WebSocketConnection::write_all_locked(std::string_view bytes) {
    const auto deadline = Clock::now() + options_.write_timeout;
    while (!bytes.empty()) {
        // MSG_NOSIGNAL: a vanished peer must give EPIPE, not kill the process.
        const ssize_t sent =
            ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(sent));
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd pfd{fd_.get(), POLLOUT, 0};
            const int ready = ::poll(&pfd, 1, poll_timeout(deadline));
            if (ready < 0 && errno == EINTR)
                continue;
            if (ready > 0)
                continue;
            set_error_if_unset("the peer took no data for " +
                               std::to_string(options_.write_timeout.count()) + " ms");
        } else {
            set_error_if_unset(std::string("write failed: ") + std::strerror(errno));
        }
        // A frame may be half written: the stream is unusable from here on,
        // and the reader must learn that too.
        write_failed_ = true;
        ::shutdown(fd_.get(), SHUT_RDWR);
        mark_finished();
        return false;
    }
    return true;
}

bool WebSocketConnection::write_frame(WebSocketOpcode opcode, std::string_view payload, bool fin) {
    std::string frame;
    if (role_ == WebSocketRole::Client) {
        const WebSocketMaskKey key = random_websocket_mask_key();
        encode_websocket_frame(frame, opcode, payload, fin, &key);
    } else {
        encode_websocket_frame(frame, opcode, payload, fin);
    }
    return write_all_locked(frame);
}

bool WebSocketConnection::send(WebSocketOpcode opcode, std::string_view payload) {
    if (opcode == WebSocketOpcode::Close || opcode == WebSocketOpcode::Continuation) {
        return false;  // close() owns the closing handshake; fragments are ours to make
    }
    if (is_control_opcode(opcode) && payload.size() > kMaxControlPayload) {
        return false;
    }
    std::lock_guard lock(write_mutex_);
    if (close_sent_ || write_failed_) {
        return false;
    }
    // One lock across all fragments: another message's frames must not
    // land between them.
    WebSocketOpcode frame_opcode = opcode;
    do {
        const std::string_view piece = payload.substr(0, options_.max_send_fragment);
        payload.remove_prefix(piece.size());
        if (!write_frame(frame_opcode, piece, payload.empty())) {
            return false;
        }
        frame_opcode = WebSocketOpcode::Continuation;
    } while (!payload.empty());
    return true;
}

bool WebSocketConnection::send_close_frame(std::uint16_t code, std::string_view reason) {
    std::lock_guard lock(write_mutex_);
    if (close_sent_ || write_failed_) {
        return false;
    }
    close_sent_ = true;
    const std::string payload =
        code == close_code::kNoStatus ? std::string() : encode_close_payload(code, reason);
    if (!write_frame(WebSocketOpcode::Close, payload, true)) {
        return false;
    }
    // Nothing may follow a Close frame; the FIN tells the peer so, and comes
    // after everything queued rather than discarding it as a reset would.
    ::shutdown(fd_.get(), SHUT_WR);
    return true;
}

void WebSocketConnection::fail(std::uint16_t code, const std::string& message) {
    set_error_if_unset(message);
    send_close_frame(code, message);
    mark_finished();
}

void WebSocketConnection::on_peer_close(const WebSocketFrame& frame) {
    const auto status = parse_close_payload(frame.payload);
    if (!status) {
        fail(close_code::kProtocolError, "invalid Close frame payload");
        return;
    }
    {
        std::lock_guard lock(state_mutex_);
        peer_close_ = status;
    }
    if (!is_normal_close(status->code)) {
        set_error_if_unset("peer closed the connection with " + std::to_string(status->code) +
                           (status->reason.empty() ? "" : ": " + status->reason));
    }
    // RFC 6455 section 5.5.1: answer, echoing the status code.
    send_close_frame(status->code, {});
    mark_finished();
}

std::optional<WebSocketConnection::Message> WebSocketConnection::read_message() {
    std::lock_guard read_lock(read_mutex_);
    std::optional<WebSocketOpcode> message_opcode;
    std::string message;
    for (;;) {
        {
            std::lock_guard lock(state_mutex_);
            if (finished_)
                return std::nullopt;
        }
        auto frame = decoder_.next();
        if (!frame) {
            if (decoder_.failed()) {
                fail(decoder_.error()->close_code, decoder_.error()->message);
                return std::nullopt;
            }
            const bool has_deadline = options_.read_timeout.count() > 0;
            switch (read_some(Clock::now() + options_.read_timeout, has_deadline)) {
            case ReadResult::Data:
                continue;
            case ReadResult::Timeout:
                fail(close_code::kGoingAway, "no data from the peer for " +
                                                 std::to_string(options_.read_timeout.count()) +
                                                 " ms");
                return std::nullopt;
            case ReadResult::Eof:
                on_eof();
                return std::nullopt;
            case ReadResult::Error:
                mark_finished();
                return std::nullopt;
            }
        }
        switch (frame->opcode) {
        case WebSocketOpcode::Ping: {
            std::lock_guard lock(write_mutex_);
            // After our Close nothing may be sent, not even a Pong.
            if (!close_sent_ && !write_failed_) {
                write_frame(WebSocketOpcode::Pong, frame->payload, true);
            }
            continue;
        }
        case WebSocketOpcode::Pong:
            continue;  // we send no pings of our own; unsolicited pongs are allowed
        case WebSocketOpcode::Close:
            on_peer_close(*frame);
            return std::nullopt;
        case WebSocketOpcode::Text:
        case WebSocketOpcode::Binary:
            if (message_opcode) {
                fail(close_code::kProtocolError, "a new message began inside a fragmented one");
                return std::nullopt;
            }
            message_opcode = frame->opcode;
            message = std::move(frame->payload);
            break;
        case WebSocketOpcode::Continuation:
            if (!message_opcode) {
                fail(close_code::kProtocolError, "continuation frame without a message");
                return std::nullopt;
            }
            // message.size() never exceeds the limit here, so this cannot wrap.
            if (frame->payload.size() > options_.max_message_size - message.size()) {
                fail(close_code::kMessageTooBig, "message exceeds the limit of " +
                                                     std::to_string(options_.max_message_size) +
                                                     " bytes");
                return std::nullopt;
            }
            message.append(frame->payload);
            break;
        }
        if (message.size() > options_.max_message_size) {
            fail(close_code::kMessageTooBig, "message exceeds the limit of " +
                                                 std::to_string(options_.max_message_size) +
                                                 " bytes");
            return std::nullopt;
        }
        if (frame->fin) {
            if (*message_opcode == WebSocketOpcode::Text && !is_valid_utf8(message)) {
                fail(close_code::kInvalidPayload, "text message is not valid UTF-8");
                return std::nullopt;
            }
            return Message{*message_opcode, std::move(message)};
        }
    }
}

void WebSocketConnection::close(std::uint16_t code, std::string_view reason) {
    if (!is_sendable_close_code(code)) {
        code = close_code::kNormal;
    }
    send_close_frame(code, reason);
    const auto deadline = Clock::now() + options_.close_timeout;
    std::unique_lock read_lock(read_mutex_, std::try_to_lock);
    if (read_lock.owns_lock()) {
        // No reader is running: wait for the peer's Close here, dropping any
        // data it still sends, since the application asked to stop.
        for (;;) {
            {
                std::lock_guard lock(state_mutex_);
                if (finished_)
                    break;
            }
            auto frame = decoder_.next();
            if (frame) {
                if (frame->opcode == WebSocketOpcode::Close) {
                    on_peer_close(*frame);
                }
                continue;
            }
            if (decoder_.failed()) {
                set_error_if_unset(decoder_.error()->message);
                break;
            }
            const ReadResult result = read_some(deadline, true);
            if (result == ReadResult::Eof) {
                on_eof();
            } else if (result == ReadResult::Timeout) {
                set_error_if_unset("the peer did not answer the Close frame within " +
                                   std::to_string(options_.close_timeout.count()) + " ms");
            }
            if (result != ReadResult::Data)
                break;
        }
    } else {
        // The running reader will see the peer's Close and finish.
        std::unique_lock lock(state_mutex_);
        if (!finished_cv_.wait_until(lock, deadline, [this] { return finished_; }) &&
            error_.empty()) {
            error_ = "the peer did not answer the Close frame within " +
                     std::to_string(options_.close_timeout.count()) + " ms";
        }
    }
    mark_finished();
    // Also wakes a reader still blocked on the socket.
    ::shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace berth::stream
