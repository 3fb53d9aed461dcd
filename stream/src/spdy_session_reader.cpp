// The reader thread of a SPDY session: decodes frames and applies them.
#include <algorithm>

#include "spdy_session_core.hpp"

namespace berth::stream::detail {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace

void SpdySessionCore::reader_loop() {
    std::string reason;
    try {
        if (!initial_input_.empty()) {
            decoder_.feed(initial_input_);
            initial_input_.clear();
            while (auto frame = decoder_.next())
                handle_frame(*frame);
        }
        std::vector<char> buffer(kReadChunk);
        for (;;) {
            auto result =
                socket_.read_some(buffer.data(), buffer.size(), std::chrono::milliseconds(-1));
            if (result.status == SpdySocket::Status::Ok) {
                decoder_.feed(std::string_view(buffer.data(), result.bytes));
                while (auto frame = decoder_.next())
                    handle_frame(*frame);
                continue;
            }
            std::lock_guard lock(mu_);
            bool orderly = goaway_sent_ || goaway_received_ || closing_;
            if (result.status == SpdySocket::Status::Eof && !orderly) {
                reason = "connection closed by the peer without GOAWAY";
            } else if (result.status == SpdySocket::Status::Failed && !orderly) {
                reason = "connection lost without GOAWAY: " + result.error;
            }
            // Woken: fail() recorded why, or close() stopped draining.
            break;
        }
    } catch (const SpdyProtocolError& e) {
        reason = std::string("protocol error: ") + e.what();
        send_frame({.type = SpdyFrameType::GoAway,
                    .stream_id = last_peer_stream_id_,
                    .status = kSpdyGoAwayProtocolError});
    } catch (const std::exception& e) {
        reason = std::string("internal error: ") + e.what();
        send_frame({.type = SpdyFrameType::GoAway,
                    .stream_id = last_peer_stream_id_,
                    .status = kSpdyGoAwayInternalError});
    }
    end_session(reason);
}

void SpdySessionCore::handle_frame(SpdyFrame& frame) {
    switch (frame.type) {
    case SpdyFrameType::SynStream:
        handle_syn_stream(frame);
        break;
    case SpdyFrameType::SynReply:
        handle_syn_reply(frame);
        break;
    case SpdyFrameType::Headers:
        handle_headers(frame);
        break;
    case SpdyFrameType::Data:
        handle_data(frame);
        break;
    case SpdyFrameType::RstStream:
        handle_rst_stream(frame);
        break;
    case SpdyFrameType::Settings:
        handle_settings(frame);
        break;
    case SpdyFrameType::Ping:
        handle_ping(frame);
        break;
    case SpdyFrameType::GoAway:
        handle_goaway(frame);
        break;
    case SpdyFrameType::WindowUpdate:
        handle_window_update(frame);
        break;
    }
}

void SpdySessionCore::handle_syn_stream(SpdyFrame& frame) {
    // Always decompressed, even for a stream we refuse: the zlib state spans
    // all header blocks of the session.
    std::string block = decompressor_.decompress(frame.header_block);
    SpdyHeaders headers;
    bool headers_valid = true;
    try {
        headers = decode_spdy_header_block(block);
    } catch (const SpdyHeaderBlockError&) {
        headers_valid = false;
    }

    const std::uint32_t id = frame.stream_id;
    const bool unidirectional = (frame.flags & kSpdyFlagUnidirectional) != 0;
    std::shared_ptr<SpdyStreamState> stream;
    SpdySession::StreamHandler handler;
    std::uint32_t refusal = 0;
    {
        std::lock_guard lock(mu_);
        if (!is_peer_stream_id(id)) {
            throw SpdyProtocolError("SYN_STREAM with stream id " + std::to_string(id) +
                                    " of our parity");
        }
        if (id <= last_peer_stream_id_) {
            throw SpdyProtocolError("SYN_STREAM with stream id " + std::to_string(id) + " after " +
                                    std::to_string(last_peer_stream_id_));
        }
        last_peer_stream_id_ = id;
        std::size_t peer_streams = std::count_if(streams_.begin(), streams_.end(), [](auto& entry) {
            return !entry.second->locally_opened;
        });
        if (!headers_valid) {
            refusal = kSpdyProtocolError;
        } else if (closing_ || dead_ || goaway_received_ || !handler_ ||
                   peer_streams >= options_.max_concurrent_streams) {
            refusal = kSpdyRefusedStream;
        } else {
            stream = std::make_shared<SpdyStreamState>(id, false);
            stream->headers = std::move(headers);
            stream->remote_fin = (frame.flags & kSpdyFlagFin) != 0;
            stream->local_fin = unidirectional;
            stream->send_window = peer_initial_window_;
            streams_[id] = stream;
            handler = handler_;
        }
    }
    if (refusal != 0) {
        send_rst(id, refusal);
        return;
    }

    // This handle outlives the reply: if the handler kept no handle of its
    // own, its destructor resets the stream after the reply, not before it
    // (and sends nothing after a refusal, which already reset the stream).
    auto handle = std::make_shared<SpdyStream>(shared_from_this(), stream);
    bool accepted = false;
    try {
        accepted = handler(handle);
    } catch (...) {
        accepted = false;
    }
    if (!accepted) {
        std::uint32_t session_delta = 0;
        bool send;
        {
            std::lock_guard lock(mu_);
            send = !stream->reset;
            stream->reset = true;
            stream->remote_fin = true;
            discard_inbound_locked(*stream, session_delta);
            stream->cv.notify_all();
            forget_if_done_locked(*stream);
        }
        if (send)
            send_rst(id, kSpdyRefusedStream);
        send_window_updates(0, 0, session_delta);
        return;
    }
    send_syn_reply(*stream, unidirectional);
}

void SpdySessionCore::send_syn_reply(SpdyStreamState& stream, bool unidirectional) {
    std::lock_guard write_lock(write_mu_);
    {
        std::lock_guard lock(mu_);
        if (unidirectional || stream.reset || dead_) {
            stream.replied = !stream.reset && !dead_;
            stream.cv.notify_all();
            return;
        }
    }
    SpdyFrame reply{.type = SpdyFrameType::SynReply, .stream_id = stream.id};
    reply.header_block = compressor_.compress(SpdyHeaders{});
    bool sent = send_locked(encode_spdy_frame(reply));
    std::lock_guard lock(mu_);
    stream.replied = sent;
    stream.cv.notify_all();
    forget_if_done_locked(stream);
}

void SpdySessionCore::handle_syn_reply(SpdyFrame& frame) {
    std::string block = decompressor_.decompress(frame.header_block);
    SpdyHeaders headers;
    bool headers_valid = true;
    try {
        headers = decode_spdy_header_block(block);
    } catch (const SpdyHeaderBlockError&) {
        headers_valid = false;
    }
    {
        std::lock_guard lock(mu_);
        auto stream = find_locked(frame.stream_id);
        // Late (after our timeout reset) or repeated replies are ignored, as
        // spdystream does.
        if (!stream || !stream->locally_opened || stream->replied)
            return;
        if (headers_valid) {
            stream->headers = std::move(headers);
            stream->replied = true;
            stream->remote_fin = (frame.flags & kSpdyFlagFin) != 0;
            stream->cv.notify_all();
            forget_if_done_locked(*stream);
            return;
        }
        stream->reset = true;
        stream->remote_fin = true;
        stream->cv.notify_all();
        forget_if_done_locked(*stream);
    }
    send_rst(frame.stream_id, kSpdyProtocolError);
}

void SpdySessionCore::handle_headers(SpdyFrame& frame) {
    // Kubelet's protocols do not use HEADERS; decompressed for the zlib state.
    decompressor_.decompress(frame.header_block);
    if ((frame.flags & kSpdyFlagFin) == 0)
        return;
    std::lock_guard lock(mu_);
    auto stream = find_locked(frame.stream_id);
    if (!stream)
        return;
    stream->remote_fin = true;
    stream->cv.notify_all();
    forget_if_done_locked(*stream);
}

void SpdySessionCore::handle_data(SpdyFrame& frame) {
    const std::size_t length = frame.data.size();
    std::uint32_t session_delta = 0;
    std::uint32_t rst_status = 0;
    {
        std::unique_lock lock(mu_);
        auto stream = find_locked(frame.stream_id);
        if (!stream || stream->reset || closing_) {
            // Data in flight for a stream that ended, or a session we close.
            session_delta = credit_session_locked(length);
        } else if (stream->remote_fin) {
            rst_status = kSpdyStreamAlreadyClosed;
            stream->reset = true;
            discard_inbound_locked(*stream, session_delta);
            session_delta += credit_session_locked(length);
            stream->cv.notify_all();
            forget_if_done_locked(*stream);
        } else {
            // Backpressure: a peer that honours our window never gets here
            // with a full buffer. One that does not (spdystream) waits,
            // and with it the whole socket, until the application reads.
            std::uint32_t window = std::min(options_.receive_window, kSpdyMaxWindow);
            stream->cv.wait(lock, [&] {
                return stream->reset || dead_ || closing_ || stream->buffered() == 0 ||
                       stream->buffered() + length <= window;
            });
            if (stream->reset || dead_ || closing_) {
                session_delta = credit_session_locked(length);
            } else {
                if (stream->inbound_offset > 0) {
                    stream->inbound.erase(0, stream->inbound_offset);
                    stream->inbound_offset = 0;
                }
                stream->inbound += frame.data;
                if ((frame.flags & kSpdyFlagFin) != 0)
                    stream->remote_fin = true;
                stream->cv.notify_all();
                forget_if_done_locked(*stream);
            }
        }
    }
    if (rst_status != 0)
        send_rst(frame.stream_id, rst_status);
    send_window_updates(0, 0, session_delta);
}

void SpdySessionCore::handle_rst_stream(const SpdyFrame& frame) {
    std::uint32_t session_delta = 0;
    {
        std::lock_guard lock(mu_);
        auto stream = find_locked(frame.stream_id);
        if (!stream)
            return;
        // After the peer's FIN, everything it sent is here: keep it readable
        // (a RST then only says the peer is done with the stream).
        if (!stream->remote_fin)
            discard_inbound_locked(*stream, session_delta);
        stream->reset = true;
        stream->remote_fin = true;
        stream->cv.notify_all();
        forget_if_done_locked(*stream);
    }
    send_window_updates(0, 0, session_delta);
}

void SpdySessionCore::handle_settings(const SpdyFrame& frame) {
    std::lock_guard lock(mu_);
    for (const auto& setting : frame.settings) {
        if (setting.id != kSpdySettingInitialWindowSize)
            continue;
        if (setting.value > kSpdyMaxWindow) {
            throw SpdyProtocolError("SETTINGS initial window " + std::to_string(setting.value) +
                                    " exceeds 2^31-1");
        }
        // The new initial window applies to open streams too, by its change.
        std::int64_t change = std::int64_t{setting.value} - peer_initial_window_;
        peer_initial_window_ = setting.value;
        for (auto& [id, stream] : streams_)
            stream->send_window += change;
        stream_flow_control_ = true;
        notify_all_locked();
    }
}

void SpdySessionCore::handle_ping(const SpdyFrame& frame) {
    {
        std::lock_guard lock(mu_);
        bool client = role_ == SpdySession::Role::Client;
        bool ours = (frame.ping_id % 2 == 1) == client;
        if (ours) {
            auto it = pings_.find(frame.ping_id);
            if (it != pings_.end()) {
                it->second = true;
                session_cv_.notify_all();
            }
            return;
        }
    }
    send_frame({.type = SpdyFrameType::Ping, .ping_id = frame.ping_id});
}

void SpdySessionCore::handle_goaway(const SpdyFrame& frame) {
    std::lock_guard lock(mu_);
    goaway_received_ = true;
    if (frame.status != kSpdyGoAwayOk && error_.empty()) {
        error_ = "peer sent GOAWAY with status " + std::to_string(frame.status);
    }
    // Streams we opened after the peer's last good one were never seen.
    for (auto it = streams_.begin(); it != streams_.end();) {
        auto& stream = it->second;
        if (stream->locally_opened && stream->id > frame.stream_id) {
            stream->reset = true;
            stream->remote_fin = true;
            stream->cv.notify_all();
            it = streams_.erase(it);
        } else {
            ++it;
        }
    }
    notify_all_locked();
}

void SpdySessionCore::handle_window_update(const SpdyFrame& frame) {
    std::uint32_t session_delta = 0;
    {
        std::lock_guard lock(mu_);
        if (frame.stream_id == 0) {
            session_send_window_ += frame.delta;
            if (session_send_window_ > kSpdyMaxWindow) {
                throw SpdyProtocolError("WINDOW_UPDATE overflows the session window");
            }
            session_flow_control_ = true;
            notify_all_locked();
            return;
        }
        stream_flow_control_ = true;
        auto stream = find_locked(frame.stream_id);
        if (!stream)
            return;
        stream->send_window += frame.delta;
        if (stream->send_window <= kSpdyMaxWindow) {
            stream->cv.notify_all();
            return;
        }
        stream->reset = true;
        stream->remote_fin = true;
        discard_inbound_locked(*stream, session_delta);
        stream->cv.notify_all();
        forget_if_done_locked(*stream);
    }
    send_rst(frame.stream_id, kSpdyFlowControlError);
    send_window_updates(0, 0, session_delta);
}

}  // namespace berth::stream::detail
