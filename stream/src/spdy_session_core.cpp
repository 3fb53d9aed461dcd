#include "spdy_session_core.hpp"

#include <algorithm>
#include <cstring>

namespace berth::stream::detail {
namespace {

// DATA payload per frame: small enough that streams interleave, large enough
// that the 8-byte header is noise.
constexpr std::size_t kMaxDataChunk = 32 * 1024;

using Clock = std::chrono::steady_clock;

}  // namespace

SpdySessionCore::SpdySessionCore(int fd, SpdySession::Role role, SpdySessionOptions options,
                                 std::string initial_input)
    : role_(role),
      options_(options),
      socket_(fd),
      initial_input_(std::move(initial_input)),
      decoder_(options.max_frame_size),
      decompressor_(options.max_header_block_size),
      next_stream_id_(role == SpdySession::Role::Client ? 1 : 2),
      next_ping_id_(role == SpdySession::Role::Client ? 1 : 2) {}

SpdySessionCore::~SpdySessionCore() {
    // SpdySession::~SpdySession closes and joins; this only guards misuse.
    if (reader_.joinable())
        reader_.detach();
}

void SpdySessionCore::set_stream_handler(SpdySession::StreamHandler handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
}

void SpdySessionCore::start() {
    // write_mu_ first: our SETTINGS and session window must be the first
    // frames on the wire, so a flow-controlling peer knows them before any
    // stream opens.
    std::lock_guard write_lock(write_mu_);
    {
        std::lock_guard lock(mu_);
        if (started_ || close_started_)
            return;
        started_ = true;
        // The thread keeps the core alive: a handler may drop the last
        // SpdySession reference while the reader is still running.
        reader_ = std::thread([self = shared_from_this()] { self->reader_loop(); });
        reader_id_ = reader_.get_id();
    }
    SpdyFrame settings{.type = SpdyFrameType::Settings};
    settings.settings = {
        {0, kSpdySettingInitialWindowSize, std::min(options_.receive_window, kSpdyMaxWindow)},
        {0, kSpdySettingMaxConcurrentStreams,
         static_cast<std::uint32_t>(
             std::min<std::size_t>(options_.max_concurrent_streams, UINT32_MAX))},
    };
    send_locked(encode_spdy_frame(settings));
    std::uint32_t session_window = std::min(options_.session_receive_window, kSpdyMaxWindow);
    if (session_window > kSpdyDefaultWindow) {
        send_locked(encode_spdy_frame({.type = SpdyFrameType::WindowUpdate,
                                       .stream_id = 0,
                                       .delta = session_window - kSpdyDefaultWindow}));
    }
}

std::shared_ptr<SpdyStream> SpdySessionCore::open_stream(const SpdyHeaders& headers) {
    // Invalid headers are the caller's bug: thrown before any state changes.
    std::string block = encode_spdy_header_block(headers);
    std::shared_ptr<SpdyStreamState> stream;
    {
        std::lock_guard write_lock(write_mu_);
        {
            std::lock_guard lock(mu_);
            if (!started_ || closing_ || dead_ || write_broken_ || goaway_received_)
                return nullptr;
            if (next_stream_id_ > kSpdyMaxStreamId)
                return nullptr;
            stream = std::make_shared<SpdyStreamState>(next_stream_id_, true);
            next_stream_id_ += 2;
            stream->send_window = peer_initial_window_;
            streams_[stream->id] = stream;
        }
        SpdyFrame syn{.type = SpdyFrameType::SynStream, .stream_id = stream->id};
        syn.header_block = compressor_.compress(block);
        if (!send_locked(encode_spdy_frame(syn))) {
            std::lock_guard lock(mu_);
            stream->reset = true;
            forget_if_done_locked(*stream);
            return nullptr;
        }
    }

    std::unique_lock lock(mu_);
    auto answered = [&] { return stream->replied || stream->reset || dead_; };
    if (waits_forever(options_.open_timeout)) {
        stream->cv.wait(lock, answered);
    } else {
        stream->cv.wait_for(lock, options_.open_timeout, answered);
    }
    // Replied, even if reset right after: the caller then reads 0 at once.
    if (stream->replied) {
        lock.unlock();
        return std::make_shared<SpdyStream>(shared_from_this(), stream);
    }
    bool timed_out = !stream->reset && !dead_;
    lock.unlock();
    if (timed_out)
        reset(*stream, kSpdyCancel);
    return nullptr;
}

bool SpdySessionCore::ping(std::chrono::milliseconds timeout) {
    std::uint32_t id;
    {
        std::lock_guard lock(mu_);
        if (!started_ || closing_ || dead_ || write_broken_)
            return false;
        id = next_ping_id_;
        // Stay on our parity and never use 0, which Go rejects.
        next_ping_id_ = next_ping_id_ > kSpdyMaxStreamId - 2 ? next_ping_id_ % 2 + 2 : id + 2;
        pings_[id] = false;
    }
    bool answered = false;
    if (send_frame({.type = SpdyFrameType::Ping, .ping_id = id})) {
        std::unique_lock lock(mu_);
        session_cv_.wait_for(lock, timeout, [&] { return pings_[id] || dead_; });
        answered = pings_[id];
    }
    std::lock_guard lock(mu_);
    pings_.erase(id);
    return answered;
}

void SpdySessionCore::close() {
    bool first;
    {
        std::lock_guard lock(mu_);
        first = !close_started_;
        close_started_ = true;
        closing_ = true;
        notify_all_locked();
    }
    if (first) {
        std::lock_guard write_lock(write_mu_);
        std::uint32_t last_good;
        bool send_goaway;
        {
            std::lock_guard lock(mu_);
            send_goaway = !dead_ && !write_shut_;
            goaway_sent_ = goaway_sent_ || send_goaway;
            last_good = last_peer_stream_id_;
        }
        if (send_goaway) {
            send_locked(encode_spdy_frame(
                {.type = SpdyFrameType::GoAway, .stream_id = last_good, .status = kSpdyGoAwayOk}));
        }
        // The FIN follows everything we sent; the peer reads it all, then
        // closes, and our reads (below, or on the reader thread) see EOF.
        if (!write_shut_) {
            socket_.shutdown_write();
            write_shut_ = true;
        }
    }

    bool reader_running;
    {
        std::lock_guard lock(mu_);
        if (std::this_thread::get_id() == reader_id_)
            return;  // from a stream handler
        reader_running = started_;
    }
    if (reader_running) {
        std::unique_lock lock(mu_);
        if (!session_cv_.wait_for(lock, options_.close_timeout, [&] { return finished_; })) {
            lock.unlock();
            socket_.wake();  // the peer did not close in time: stop draining
        }
    } else if (first) {
        drain_without_reader();
        end_session("");
    }
    wait_closed();
    std::lock_guard join_lock(join_mu_);
    if (reader_.joinable())
        reader_.join();
    std::lock_guard write_lock(write_mu_);
    socket_.close();
}

void SpdySessionCore::drain_without_reader() {
    std::vector<char> buffer(64 * 1024);
    auto deadline = Clock::now() + options_.close_timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            return;
        auto result = socket_.read_some(buffer.data(), buffer.size(), left);
        if (result.status != SpdySocket::Status::Ok)
            return;
    }
}

void SpdySessionCore::wait_closed() {
    std::unique_lock lock(mu_);
    if (!started_ && !close_started_)
        return;  // no reader will ever end
    session_cv_.wait(lock, [&] { return finished_; });
}

bool SpdySessionCore::closed() const {
    std::lock_guard lock(mu_);
    return closing_ || dead_;
}

std::string SpdySessionCore::error() const {
    std::lock_guard lock(mu_);
    return error_;
}

void SpdySessionCore::end_session(const std::string& reason) {
    {
        std::lock_guard lock(mu_);
        if (!reason.empty() && error_.empty())
            error_ = reason;
        dead_ = true;
        // Buffered data stays readable; after it, reads return 0.
        for (auto& [id, stream] : streams_)
            stream->remote_fin = true;
        notify_all_locked();
        streams_.clear();
    }
    socket_.wake();  // writers blocked on the socket give up
    {
        std::lock_guard write_lock(write_mu_);
        if (!write_shut_) {
            socket_.shutdown_write();
            write_shut_ = true;
        }
    }
    std::lock_guard lock(mu_);
    finished_ = true;
    session_cv_.notify_all();
}

bool SpdySessionCore::send_locked(std::string_view head, std::string_view payload) {
    {
        std::lock_guard lock(mu_);
        if (dead_ || write_broken_)
            return false;
    }
    if (write_shut_)
        return false;
    auto result = socket_.write_all(head, payload, options_.write_timeout);
    if (result.status == SpdySocket::Status::Ok)
        return true;
    std::lock_guard lock(mu_);
    if (result.status == SpdySocket::Status::TimedOut) {
        // The peer stopped reading: nothing will get through any more.
        fail_locked(result.error);
    } else if (result.status == SpdySocket::Status::Failed && !write_broken_) {
        // The peer went away. What it sent before may still be waiting in
        // our receive buffer, so the reader goes on until EOF; only writes
        // end here.
        write_broken_ = true;
        notify_all_locked();
    }
    return false;
}

bool SpdySessionCore::send_frame(const SpdyFrame& frame) {
    std::lock_guard write_lock(write_mu_);
    return send_locked(encode_spdy_frame(frame));
}

void SpdySessionCore::send_window_updates(std::uint32_t stream_id, std::uint32_t stream_delta,
                                          std::uint32_t session_delta) {
    if (stream_delta > 0) {
        send_frame(
            {.type = SpdyFrameType::WindowUpdate, .stream_id = stream_id, .delta = stream_delta});
    }
    if (session_delta > 0) {
        send_frame({.type = SpdyFrameType::WindowUpdate, .stream_id = 0, .delta = session_delta});
    }
}

void SpdySessionCore::send_rst(std::uint32_t stream_id, std::uint32_t status) {
    send_frame({.type = SpdyFrameType::RstStream, .stream_id = stream_id, .status = status});
}

void SpdySessionCore::fail_locked(const std::string& reason) {
    if (error_.empty())
        error_ = reason;
    if (dead_)
        return;
    dead_ = true;
    notify_all_locked();
    socket_.wake();
    if (!started_) {
        // No reader thread will end the session: do its part here.
        for (auto& [id, stream] : streams_)
            stream->remote_fin = true;
        finished_ = true;
    }
}

void SpdySessionCore::notify_all_locked() {
    for (auto& [id, stream] : streams_)
        stream->cv.notify_all();
    session_cv_.notify_all();
}

std::shared_ptr<SpdyStreamState> SpdySessionCore::find_locked(std::uint32_t id) const {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
}

void SpdySessionCore::forget_if_done_locked(const SpdyStreamState& stream) {
    if (!stream.reset && !(stream.local_fin && stream.remote_fin))
        return;
    auto it = streams_.find(stream.id);
    if (it != streams_.end() && it->second.get() == &stream)
        streams_.erase(it);
}

void SpdySessionCore::discard_inbound_locked(SpdyStreamState& stream,
                                             std::uint32_t& session_delta) {
    // Discarded bytes still count against the session window: give them back.
    session_delta += credit_session_locked(stream.buffered());
    stream.inbound.clear();
    stream.inbound_offset = 0;
}

std::uint32_t SpdySessionCore::credit_session_locked(std::size_t consumed) {
    session_unacked_ += static_cast<std::uint32_t>(consumed);
    std::uint32_t window = std::min(options_.session_receive_window, kSpdyMaxWindow);
    if (session_unacked_ < std::max<std::uint32_t>(window / 2, 1))
        return 0;
    return std::exchange(session_unacked_, 0);
}

bool SpdySessionCore::is_peer_stream_id(std::uint32_t id) const {
    bool odd = id % 2 == 1;
    return role_ == SpdySession::Role::Server ? odd : !odd;
}

std::size_t SpdySessionCore::read(SpdyStreamState& stream, char* buffer, std::size_t length) {
    if (length == 0)
        return 0;
    std::unique_lock lock(mu_);
    stream.cv.wait(
        lock, [&] { return stream.buffered() > 0 || stream.remote_fin || stream.reset || dead_; });
    if (stream.buffered() == 0)
        return 0;
    std::size_t count = std::min(length, stream.buffered());
    std::memcpy(buffer, stream.inbound.data() + stream.inbound_offset, count);
    stream.inbound_offset += count;
    if (stream.inbound_offset == stream.inbound.size()) {
        stream.inbound.clear();
        stream.inbound_offset = 0;
    }
    // Window updates as the application consumes: the peer may send what we
    // are ready to buffer, no more.
    std::uint32_t stream_delta = 0;
    std::uint32_t session_delta = 0;
    if (!dead_) {
        session_delta = credit_session_locked(count);
        if (!stream.remote_fin && !stream.reset) {
            stream.unacked += static_cast<std::uint32_t>(count);
            std::uint32_t window = std::min(options_.receive_window, kSpdyMaxWindow);
            if (stream.unacked >= std::max<std::uint32_t>(window / 2, 1)) {
                stream_delta = std::exchange(stream.unacked, 0);
            }
        }
    }
    stream.cv.notify_all();  // the reader thread may be waiting for room
    lock.unlock();
    send_window_updates(stream.id, stream_delta, session_delta);
    return count;
}

bool SpdySessionCore::write(SpdyStreamState& stream, std::string_view data) {
    std::unique_lock lock(mu_);
    auto writable = [&] {
        return !stream.reset && !stream.local_fin && !dead_ && !write_broken_ && !closing_;
    };
    // Returns false when `ready` did not become true within write_timeout.
    auto wait_for = [&](auto ready) {
        if (waits_forever(options_.write_timeout)) {
            stream.cv.wait(lock, ready);
            return true;
        }
        return stream.cv.wait_for(lock, options_.write_timeout, ready);
    };

    // Go drops DATA that arrives before the SYN_REPLY of a stream it opened.
    if (!wait_for([&] { return stream.replied || !writable(); }) || !writable())
        return false;

    std::size_t sent = 0;
    while (sent < data.size()) {
        std::size_t chunk = 0;
        auto window_open = [&] {
            if (!writable())
                return true;
            chunk = std::min(kMaxDataChunk, data.size() - sent);
            if (stream_flow_control_) {
                chunk = std::min<std::size_t>(chunk, std::max<std::int64_t>(stream.send_window, 0));
            }
            if (session_flow_control_) {
                chunk =
                    std::min<std::size_t>(chunk, std::max<std::int64_t>(session_send_window_, 0));
            }
            return chunk > 0;
        };
        if (!wait_for(window_open) || !writable())
            return false;
        // Counted even while not enforced, so the windows are right if the
        // peer turns out to do flow control after all.
        stream.send_window -= static_cast<std::int64_t>(chunk);
        session_send_window_ -= static_cast<std::int64_t>(chunk);
        lock.unlock();
        {
            std::lock_guard write_lock(write_mu_);
            {
                std::lock_guard state_lock(mu_);
                if (!writable())
                    return false;
            }
            auto header = encode_spdy_data_header(stream.id, 0, chunk);
            if (!send_locked(std::string_view(header.data(), header.size()),
                             data.substr(sent, chunk))) {
                return false;
            }
        }
        sent += chunk;
        lock.lock();
    }
    return true;
}

void SpdySessionCore::close_write(SpdyStreamState& stream) {
    {
        std::unique_lock lock(mu_);
        auto settled = [&] {
            return stream.replied || stream.reset || stream.local_fin || dead_ || write_broken_ ||
                   closing_;
        };
        if (waits_forever(options_.write_timeout)) {
            stream.cv.wait(lock, settled);
        } else if (!stream.cv.wait_for(lock, options_.write_timeout, settled)) {
            return;
        }
    }
    std::lock_guard write_lock(write_mu_);
    {
        std::lock_guard lock(mu_);
        if (stream.local_fin || stream.reset)
            return;
        stream.local_fin = true;
        stream.cv.notify_all();  // writers waiting for window give up
        forget_if_done_locked(stream);
        if (dead_ || !stream.replied)
            return;
    }
    auto header = encode_spdy_data_header(stream.id, kSpdyFlagFin, 0);
    send_locked(std::string_view(header.data(), header.size()));
}

void SpdySessionCore::reset(SpdyStreamState& stream, std::uint32_t status) {
    std::uint32_t session_delta = 0;
    std::lock_guard write_lock(write_mu_);
    bool send;
    {
        std::lock_guard lock(mu_);
        if (stream.reset)
            return;
        // A stream both sides have finished needs no RST (spdystream sends
        // none either); one the peer opened may be refused before the reply.
        send = !dead_ && !(stream.local_fin && stream.remote_fin);
        stream.reset = true;
        stream.remote_fin = true;
        discard_inbound_locked(stream, session_delta);
        stream.cv.notify_all();
        forget_if_done_locked(stream);
    }
    if (send) {
        send_locked(encode_spdy_frame(
            {.type = SpdyFrameType::RstStream, .stream_id = stream.id, .status = status}));
    }
    if (session_delta > 0) {
        send_locked(encode_spdy_frame(
            {.type = SpdyFrameType::WindowUpdate, .stream_id = 0, .delta = session_delta}));
    }
}

}  // namespace berth::stream::detail
