// PendingResults on its own: calls are threads, clients are Callers with
// short deadlines, and results are kept for well under a second.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "berth/cri_api.hpp"
#include "pending_results.hpp"
#include "status_error.hpp"

using berth::daemon::Caller;
using berth::daemon::PendingResults;
using berth::daemon::request_fingerprint;
using berth::daemon::StatusError;
using namespace std::chrono_literals;

namespace {

// What the class undid, in order, with a way to wait for it.
class UndoLog {
public:
    std::function<void(const std::string&)> callback() {
        return [this](const std::string& id) {
            std::lock_guard lock(mutex_);
            ids_.push_back(id);
            changed_.notify_all();
        };
    }
    std::vector<std::string> ids() const {
        std::lock_guard lock(mutex_);
        return ids_;
    }
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return ids_.size() >= count; });
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> ids_;
};

Caller with_deadline(std::chrono::milliseconds timeout) {
    Caller caller;
    caller.deadline = std::chrono::system_clock::now() + timeout;
    return caller;
}

Caller gone_caller() {
    Caller caller;
    caller.cancelled = [] { return true; };
    return caller;
}

grpc::StatusCode code_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const StatusError& error) {
        return error.code();
    }
    return grpc::StatusCode::OK;
}

// Polls `condition` until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition())
            return true;
        std::this_thread::sleep_for(5ms);
    }
    return condition();
}

}  // namespace

TEST(RequestFingerprint, EqualRequestsMatchAndMapOrderDoesNot) {
    runtime::v1::PodSandboxConfig first;
    first.mutable_metadata()->set_name("web");
    (*first.mutable_labels())["a"] = "1";
    (*first.mutable_labels())["b"] = "2";
    runtime::v1::PodSandboxConfig second;
    second.mutable_metadata()->set_name("web");
    (*second.mutable_labels())["b"] = "2";
    (*second.mutable_labels())["a"] = "1";
    EXPECT_EQ(request_fingerprint(first), request_fingerprint(second));
    EXPECT_EQ(request_fingerprint(first).rfind("sha256:", 0), 0u);
    (*second.mutable_labels())["a"] = "changed";
    EXPECT_NE(request_fingerprint(first), request_fingerprint(second));
}

TEST(PendingResults, AnsweredCallLeavesNothingBehind) {
    UndoLog undone;
    PendingResults results("pod sandbox", 50ms, undone.callback());
    const Caller caller;
    {
        auto turn = results.begin("pod", "request", caller);
        ASSERT_TRUE(turn.ticket);
        turn.ticket->reserved("id1");
        EXPECT_TRUE(turn.ticket->answer_wanted());
        turn.ticket->answered("id1");
    }
    EXPECT_EQ(results.kept_count(), 0u);
    // The next call for the name runs itself (the store refuses the name).
    auto again = results.begin("pod", "request", caller);
    EXPECT_TRUE(again.ticket);
    std::this_thread::sleep_for(150ms);
    EXPECT_TRUE(undone.ids().empty());
}

TEST(PendingResults, IdenticalCallWaitsForTheRunningOneAndGetsItsId) {
    UndoLog undone;
    PendingResults results("pod sandbox", 10s, undone.callback());
    const Caller owner = gone_caller();  // kubelet gave up on the first call
    auto first = results.begin("pod", "request", owner);
    ASSERT_TRUE(first.ticket);
    first.ticket->reserved("id1");

    auto retry = std::async(std::launch::async, [&] {
        const Caller caller = with_deadline(5s);
        return results.begin("pod", "request", caller);
    });
    // The waiting retry is someone the answer reaches.
    ASSERT_TRUE(wait_until([&] { return first.ticket->answer_wanted(); }));
    first.ticket->answered("id1");
    const auto turn = retry.get();
    EXPECT_FALSE(turn.ticket);
    EXPECT_FALSE(turn.claimed);
    EXPECT_EQ(turn.id, "id1");
    EXPECT_EQ(results.kept_count(), 0u);
}

TEST(PendingResults, WaiterWhoseDeadlinePassesGetsDeadlineExceededAndTheResultIsKept) {
    UndoLog undone;
    PendingResults results("pod sandbox", 10s, undone.callback());
    const Caller owner = gone_caller();
    auto first = results.begin("pod", "request", owner);
    ASSERT_TRUE(first.ticket);

    const auto started = std::chrono::steady_clock::now();
    const Caller short_lived = with_deadline(200ms);
    EXPECT_EQ(code_of([&] { results.begin("pod", "request", short_lived); }),
              grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "bounded by its own deadline";

    EXPECT_FALSE(first.ticket->answer_wanted()) << "nobody is left";
    first.ticket->kept("id1");
    EXPECT_EQ(results.kept_count(), 1u);

    // The next identical call takes it at once; it has to make it visible.
    const Caller retry = with_deadline(5s);
    const auto turn = results.begin("pod", "request", retry);
    EXPECT_FALSE(turn.ticket);
    EXPECT_TRUE(turn.claimed);
    EXPECT_EQ(turn.id, "id1");
    EXPECT_EQ(results.kept_count(), 0u);
}

TEST(PendingResults, DifferentRequestForTheNameIsAlreadyExists) {
    UndoLog undone;
    PendingResults results("pod sandbox", 10s, undone.callback());
    const Caller caller;
    auto first = results.begin("pod", "request", caller);
    ASSERT_TRUE(first.ticket);
    first.ticket->reserved("id1");
    try {
        results.begin("pod", "other request", caller);
        FAIL() << "a different request got a turn";
    } catch (const StatusError& error) {
        EXPECT_EQ(error.code(), grpc::StatusCode::ALREADY_EXISTS);
        EXPECT_NE(std::string(error.what()).find("\"pod\" is reserved for id1"), std::string::npos)
            << error.what();
    }
    first.ticket->kept("id1");
    EXPECT_EQ(code_of([&] { results.begin("pod", "other request", caller); }),
              grpc::StatusCode::ALREADY_EXISTS);
    // Other names are not affected.
    EXPECT_TRUE(results.begin("other pod", "other request", caller).ticket);
}

TEST(PendingResults, UnclaimedResultIsUndoneAfterItsTime) {
    UndoLog undone;
    PendingResults results("pod sandbox", 200ms, undone.callback());
    const Caller owner = gone_caller();
    {
        auto turn = results.begin("pod", "request", owner);
        turn.ticket->kept("id1");
    }
    std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(undone.ids().empty()) << "undone before its time";
    ASSERT_TRUE(undone.wait_for(1, 5s));
    EXPECT_EQ(undone.ids(), std::vector<std::string>{"id1"});
    EXPECT_EQ(results.kept_count(), 0u);
    // Its name is the store's again: an identical call runs anew.
    const Caller caller;
    EXPECT_TRUE(results.begin("pod", "request", caller).ticket);
}

TEST(PendingResults, ClaimedResultIsNeverUndone) {
    UndoLog undone;
    PendingResults results("pod sandbox", 300ms, undone.callback());
    const Caller owner = gone_caller();
    results.begin("pod", "request", owner).ticket->kept("id1");
    const Caller caller;
    EXPECT_TRUE(results.begin("pod", "request", caller).claimed);
    std::this_thread::sleep_for(600ms);
    EXPECT_TRUE(undone.ids().empty());
}

TEST(PendingResults, CallerAlreadyGoneDoesNotTakeAKeptResult) {
    UndoLog undone;
    PendingResults results("pod sandbox", 10s, undone.callback());
    const Caller owner = gone_caller();
    results.begin("pod", "request", owner).ticket->kept("id1");
    const Caller late = with_deadline(-1ms);
    EXPECT_EQ(code_of([&] { results.begin("pod", "request", late); }),
              grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_EQ(results.kept_count(), 1u) << "still there for a retry that can take it";
}

TEST(PendingResults, FailedCallLetsAWaitingRetryRunItself) {
    UndoLog undone;
    PendingResults results("pod sandbox", 10s, undone.callback());
    const Caller owner = gone_caller();
    auto first = std::make_unique<PendingResults::Turn>(results.begin("pod", "request", owner));
    ASSERT_TRUE(first->ticket);
    auto retry = std::async(std::launch::async, [&] {
        const Caller caller = with_deadline(5s);
        auto turn = results.begin("pod", "request", caller);
        const bool runs = turn.ticket.has_value();
        if (runs)
            turn.ticket->answered("id2");
        return runs;
    });
    ASSERT_TRUE(wait_until([&] { return first->ticket->answer_wanted(); }));
    first.reset();  // the call failed: its ticket is dropped unfinished
    EXPECT_TRUE(retry.get());
    EXPECT_EQ(results.kept_count(), 0u);
}

TEST(PendingResults, CancelledWaiterLeaves) {
    UndoLog undone;
    PendingResults results("pod sandbox", 10s, undone.callback());
    const Caller owner = gone_caller();
    auto first = results.begin("pod", "request", owner);
    std::atomic<bool> cancel{false};
    auto waiter = std::async(std::launch::async, [&] {
        Caller caller;
        caller.cancelled = [&] { return cancel.load(); };
        return code_of([&] { results.begin("pod", "request", caller); });
    });
    std::this_thread::sleep_for(50ms);
    cancel = true;
    ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(waiter.get(), grpc::StatusCode::CANCELLED);
    // Nobody waits any more: the owner keeps its result.
    EXPECT_FALSE(first.ticket->answer_wanted());
}

TEST(PendingResults, KeptAtRestoreIsClaimableAndExpires) {
    UndoLog undone;
    PendingResults results("container", 300ms, undone.callback());
    results.keep("ctr", "request", "id1");
    results.keep("ctr2", "request2", "id2");
    const Caller caller;
    const auto turn = results.begin("ctr", "request", caller);
    EXPECT_TRUE(turn.claimed);
    EXPECT_EQ(turn.id, "id1");
    ASSERT_TRUE(undone.wait_for(1, 5s));
    EXPECT_EQ(undone.ids(), std::vector<std::string>{"id2"});
}

TEST(PendingResults, DestroyingUndoesNothing) {
    UndoLog undone;
    {
        PendingResults results("pod sandbox", 100ms, undone.callback());
        results.keep("pod", "request", "id1");
    }
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(undone.ids().empty()) << "kept results are on disk for the next start";
}
