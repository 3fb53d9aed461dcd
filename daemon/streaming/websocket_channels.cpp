#include "streaming/websocket_channels.hpp"

namespace berth::daemon::streaming {

namespace {
// Per channel: enough for a burst of typing or a piped file's next pieces.
constexpr std::size_t kQueueLimit = 1 << 20;
}  // namespace

WebSocketChannels::WebSocketChannels(stream::WebSocketConnection& connection)
    : connection_(connection) {}

WebSocketChannels::~WebSocketChannels() {
    connection_.shutdown();
    {
        std::lock_guard lock(mutex_);
        ended_ = true;
        changed_.notify_all();
    }
    if (reader_.joinable())
        reader_.join();
}

void WebSocketChannels::start(const std::vector<std::uint8_t>& channels) {
    for (const auto channel : channels)
        queues_[channel];
    reader_ = std::thread([this] { read_loop(); });
}

void WebSocketChannels::read_loop() {
    while (auto message = connection_.read_message()) {
        if (message->payload.empty())
            continue;
        const auto channel = static_cast<std::uint8_t>(message->payload[0]);
        std::unique_lock lock(mutex_);
        if (channel == kCloseChannelSignal) {
            if (message->payload.size() >= 2) {
                const auto target = static_cast<std::uint8_t>(message->payload[1]);
                if (const auto found = queues_.find(target); found != queues_.end()) {
                    found->second.closed = true;
                    changed_.notify_all();
                }
            }
            continue;
        }
        const auto found = queues_.find(channel);
        if (found == queues_.end() || found->second.closed)
            continue;
        Queue& queue = found->second;
        changed_.wait(lock, [&] { return queue.bytes < kQueueLimit || ended_; });
        if (ended_)
            break;
        queue.bytes += message->payload.size() - 1;
        queue.messages.push_back(message->payload.substr(1));
        changed_.notify_all();
    }
    std::lock_guard lock(mutex_);
    ended_ = true;
    changed_.notify_all();
}

std::optional<std::string> WebSocketChannels::receive(std::uint8_t channel) {
    std::unique_lock lock(mutex_);
    Queue& queue = queues_[channel];
    changed_.wait(lock, [&] { return !queue.messages.empty() || queue.closed || ended_; });
    if (queue.messages.empty())
        return std::nullopt;
    std::string data = std::move(queue.messages.front());
    queue.messages.pop_front();
    queue.bytes -= data.size();
    changed_.notify_all();
    return data;
}

bool WebSocketChannels::send(std::uint8_t channel, std::string_view data) {
    std::string message;
    message.reserve(data.size() + 1);
    message += static_cast<char>(channel);
    message.append(data);
    return connection_.send_binary(message);
}

void WebSocketChannels::wait_closed() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return ended_; });
}

bool WebSocketChannels::closed() const {
    std::lock_guard lock(mutex_);
    return ended_;
}

void WebSocketChannels::close() {
    connection_.close();
    std::lock_guard lock(mutex_);
    ended_ = true;
    changed_.notify_all();
}

}  // namespace berth::daemon::streaming
