// The streaming server's own logic without a network or a container: tokens,
// and the remote-command session against a fake process and fake client.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "status_error.hpp"
#include "streaming/remote_command.hpp"
#include "streaming/token_cache.hpp"

using namespace berth::daemon;
using namespace berth::daemon::streaming;
using namespace std::chrono_literals;

namespace {

StreamRequest exec_request() {
    StreamRequest request;
    request.kind = StreamKind::Exec;
    request.container_id = "c1";
    request.command = {"sh", "-c", "exit 3"};
    request.stdout = true;
    return request;
}

// A process that prints its script and then ends, or with `waits_for_input`
// goes on until its input closes (or it is cancelled); `exit_code` nullopt
// stands for an attach.
class FakeProcess final : public berth::oci::ProcessIo {
public:
    FakeProcess(std::deque<berth::oci::OutputChunk> output, std::optional<int> exit_code,
                bool waits_for_input = false)
        : output_(std::move(output)), exit_code_(exit_code), waits_for_input_(waits_for_input) {}

    std::optional<berth::oci::OutputChunk> read_output() override {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] {
            return !output_.empty() || !waits_for_input_ || cancelled_ || input_closed_;
        });
        if (output_.empty())
            return std::nullopt;
        auto chunk = std::move(output_.front());
        output_.pop_front();
        return chunk;
    }
    bool write_input(std::string_view data) override {
        std::lock_guard lock(mutex_);
        input_ += data;
        return true;
    }
    void close_input() override {
        std::lock_guard lock(mutex_);
        input_closed_ = true;
        changed_.notify_all();
    }
    void resize(std::uint16_t width, std::uint16_t height) override {
        std::lock_guard lock(mutex_);
        sizes_.push_back({width, height});
    }
    std::optional<int> wait() override { return exit_code_; }
    void cancel() override {
        std::lock_guard lock(mutex_);
        cancelled_ = true;
        changed_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<berth::oci::OutputChunk> output_;
    std::optional<int> exit_code_;
    bool waits_for_input_;
    std::string input_;
    bool input_closed_ = false;
    bool cancelled_ = false;
    std::vector<berth::stream::TerminalSize> sizes_;
};

class FakeClient final : public RemoteCommandStreams {
public:
    bool has_stdin() const override { return !input_.empty(); }
    std::size_t read_stdin(char* buffer, std::size_t size) override {
        std::lock_guard lock(mutex_);
        const std::size_t count = std::min(size, input_.size() - input_read_);
        input_.copy(buffer, count, input_read_);
        input_read_ += count;
        return count;
    }
    bool write_output(berth::oci::OutputStream stream, std::string_view data) override {
        std::lock_guard lock(mutex_);
        if (gone_)
            return false;
        (stream == berth::oci::OutputStream::Stdout ? out_ : err_) += data;
        return true;
    }
    void close_outputs() override { outputs_closed_ = true; }
    std::optional<berth::stream::TerminalSize> next_resize() override {
        std::lock_guard lock(mutex_);
        if (sizes_.empty())
            return std::nullopt;
        auto size = sizes_.front();
        sizes_.pop_front();
        return size;
    }
    bool json_status() const override { return json_; }
    void write_status(std::string_view content) override { status_ = content; }
    void wait_closed() override {
        std::unique_lock lock(mutex_);
        closed_changed_.wait(lock, [this] { return closed_; });
    }
    void shutdown() override {
        std::lock_guard lock(mutex_);
        closed_ = true;
        closed_changed_.notify_all();
    }
    void vanish() {
        std::lock_guard lock(mutex_);
        gone_ = closed_ = true;
        closed_changed_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable closed_changed_;
    std::string input_;
    std::size_t input_read_ = 0;
    std::string out_, err_, status_;
    std::deque<berth::stream::TerminalSize> sizes_;
    bool json_ = true;
    bool outputs_closed_ = false;
    bool closed_ = false;
    bool gone_ = false;
};

}  // namespace

TEST(TokenCache, TokensAreSingleUseAndUnguessable) {
    TokenCache cache;
    const auto token = cache.insert(exec_request());
    EXPECT_GE(token.size(), 43u);  // 256 bits
    EXPECT_EQ(
        token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << "a token must be usable in a URL path as it is";
    EXPECT_NE(cache.insert(exec_request()), token);
    const auto request = cache.consume(token);
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->container_id, "c1");
    EXPECT_FALSE(cache.consume(token).has_value()) << "used twice";
    EXPECT_FALSE(cache.consume("").has_value());
    EXPECT_FALSE(cache.consume("made-up").has_value());
}

TEST(TokenCache, TokensExpire) {
    TokenCache cache(50ms);
    const auto token = cache.insert(exec_request());
    std::this_thread::sleep_for(80ms);
    EXPECT_FALSE(cache.consume(token).has_value());
}

TEST(TokenCache, IsBoundedButExpiredTokensMakeRoom) {
    TokenCache cache(50ms, 2);
    cache.insert(exec_request());
    cache.insert(exec_request());
    try {
        cache.insert(exec_request());
        ADD_FAILURE() << "a third token fitted a cache of two";
    } catch (const StatusError& error) {
        EXPECT_EQ(error.code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    }
    std::this_thread::sleep_for(80ms);
    EXPECT_NO_THROW(cache.insert(exec_request()));
    EXPECT_EQ(cache.size(), 1u);
}

TEST(RemoteCommand, OutputThenTheExitCodeOnTheErrorStream) {
    FakeProcess process(
        {{berth::oci::OutputStream::Stdout, "out"}, {berth::oci::OutputStream::Stderr, "err"}}, 3);
    FakeClient client;
    run_remote_command(process, client, exec_request());
    EXPECT_EQ(client.out_, "out");
    EXPECT_EQ(client.err_, "err");
    EXPECT_TRUE(client.outputs_closed_);
    const auto outcome = berth::stream::parse_command_outcome(client.status_, true);
    ASSERT_TRUE(outcome.exit_code.has_value()) << client.status_;
    EXPECT_EQ(*outcome.exit_code, 3);
    EXPECT_TRUE(client.closed_);
}

TEST(RemoteCommand, OlderProtocolsGetAMessageAndSuccessIsSilent) {
    FakeProcess failing({}, 2);
    FakeClient old_client;
    old_client.json_ = false;
    run_remote_command(failing, old_client, exec_request());
    EXPECT_NE(old_client.status_.find("exit code 2"), std::string::npos) << old_client.status_;

    FakeProcess fine({}, 0);
    FakeClient quiet;
    quiet.json_ = false;
    run_remote_command(fine, quiet, exec_request());
    EXPECT_EQ(quiet.status_, "");
}

TEST(RemoteCommand, InputReachesTheProcessAndItsEndIsPassedOn) {
    FakeProcess process({}, 0, true);
    FakeClient client;
    client.input_ = "hello";
    run_remote_command(process, client, exec_request());
    EXPECT_EQ(process.input_, "hello");
    EXPECT_TRUE(process.input_closed_);
}

TEST(RemoteCommand, ResizesReachATtySession) {
    FakeProcess process({}, 0, true);
    FakeClient client;
    client.sizes_ = {{80, 24}, {100, 30}};
    auto request = exec_request();
    request.tty = true;
    std::thread session([&] { run_remote_command(process, client, request); });
    // The fake process ends when its input does: give the resizes a moment.
    for (int i = 0; i < 100; ++i) {
        {
            std::lock_guard lock(process.mutex_);
            if (process.sizes_.size() == 2)
                break;
        }
        std::this_thread::sleep_for(10ms);
    }
    process.close_input();
    session.join();
    ASSERT_EQ(process.sizes_.size(), 2u);
    EXPECT_EQ(process.sizes_[1], (berth::stream::TerminalSize{100, 30}));
}

TEST(RemoteCommand, AClientThatGoesAwayCancelsTheProcess) {
    FakeProcess process({}, std::nullopt, true);  // would run for ever
    FakeClient client;
    std::thread session([&] { run_remote_command(process, client, exec_request()); });
    std::this_thread::sleep_for(20ms);
    client.vanish();
    session.join();
    EXPECT_TRUE(process.cancelled_);
}
