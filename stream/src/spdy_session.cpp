// SpdySession and SpdyStream: thin handles over SpdySessionCore.
#include "berth/stream/spdy_session.hpp"

#include "spdy_session_core.hpp"

namespace berth::stream {

SpdyStream::SpdyStream(std::shared_ptr<detail::SpdySessionCore> core,
                       std::shared_ptr<detail::SpdyStreamState> state)
    : core_(std::move(core)), state_(std::move(state)) {}

// The last handle going away resets a stream still open: nobody will read
// it, and unread data would stall the session once its window is full.
SpdyStream::~SpdyStream() {
    core_->reset(*state_, kSpdyCancel);
}

std::uint32_t SpdyStream::id() const {
    return state_->id;
}

const SpdyHeaders& SpdyStream::headers() const {
    return state_->headers;
}

std::string SpdyStream::header(std::string_view name) const {
    for (const auto& [key, value] : state_->headers) {
        if (key == name)
            return value;
    }
    return {};
}

std::size_t SpdyStream::read(char* buffer, std::size_t length) {
    return core_->read(*state_, buffer, length);
}

bool SpdyStream::write(std::string_view data) {
    return core_->write(*state_, data);
}

void SpdyStream::close_write() {
    core_->close_write(*state_);
}

void SpdyStream::reset(std::uint32_t status) {
    core_->reset(*state_, status);
}

SpdySession::SpdySession(int fd, Role role, Options options, std::string initial_input)
    : core_(
          std::make_shared<detail::SpdySessionCore>(fd, role, options, std::move(initial_input))) {}

SpdySession::~SpdySession() {
    core_->close();
    // A handler that captured a stream or this session must not keep the
    // core alive in a cycle.
    core_->set_stream_handler(nullptr);
}

void SpdySession::set_stream_handler(StreamHandler handler) {
    core_->set_stream_handler(std::move(handler));
}

void SpdySession::start() {
    core_->start();
}

std::shared_ptr<SpdyStream> SpdySession::open_stream(const SpdyHeaders& headers) {
    return core_->open_stream(headers);
}

bool SpdySession::ping(std::chrono::milliseconds timeout) {
    return core_->ping(timeout);
}

void SpdySession::close() {
    core_->close();
}

void SpdySession::wait_closed() {
    core_->wait_closed();
}

bool SpdySession::closed() const {
    return core_->closed();
}

std::string SpdySession::error() const {
    return core_->error();
}

}  // namespace berth::stream
