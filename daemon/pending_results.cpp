#include "pending_results.hpp"

#include <algorithm>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <spdlog/spdlog.h>

#include "berth/storage/manifest.hpp"
#include "status_error.hpp"

namespace berth::daemon {

namespace {

// A waiting call looks at its own client this often: one that left stops
// counting as someone the result could reach.
constexpr auto kWaiterPoll = std::chrono::milliseconds(100);

}  // namespace

std::string request_fingerprint(const google::protobuf::Message& request) {
    std::string bytes;
    {
        google::protobuf::io::StringOutputStream stream(&bytes);
        google::protobuf::io::CodedOutputStream coded(&stream);
        coded.SetSerializationDeterministic(true);
        request.SerializePartialToCodedStream(&coded);
    }
    return storage::sha256_digest(bytes);
}

PendingResults::PendingResults(std::string kind, std::chrono::milliseconds keep_for,
                               std::function<void(const std::string&)> undo)
    : kind_(std::move(kind)), keep_for_(keep_for), undo_(std::move(undo)) {
    timer_ = std::thread([this] { expire_loop(); });
}

PendingResults::~PendingResults() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    timer_wake_.notify_all();
    timer_.join();
}

PendingResults::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(other.owner_), entry_(std::move(other.entry_)), caller_(other.caller_) {}

PendingResults::Ticket::~Ticket() {
    if (entry_)
        owner_->settle(entry_, State::Failed, "");
}

void PendingResults::Ticket::reserved(const std::string& id) {
    std::lock_guard lock(owner_->mutex_);
    entry_->id = id;
}

bool PendingResults::Ticket::answer_wanted() const {
    if (!caller_->gone())
        return true;
    // A waiting call's client that cancelled leaves within kWaiterPoll; its
    // deadline is all that can be read from here.
    std::lock_guard lock(owner_->mutex_);
    return std::any_of(entry_->waiters.begin(), entry_->waiters.end(),
                       [](const Caller* waiter) { return !waiter->expired(); });
}

void PendingResults::Ticket::answered(const std::string& id) {
    owner_->settle(entry_, State::Answered, id);
    entry_.reset();
}

void PendingResults::Ticket::kept(const std::string& id) {
    owner_->settle(entry_, State::Kept, id);
    entry_.reset();
}

void PendingResults::settle(const std::shared_ptr<Entry>& entry, State state,
                            const std::string& id) {
    {
        std::lock_guard lock(mutex_);
        entry->state = state;
        entry->id = id;
        if (state == State::Kept) {
            entry->expires = std::chrono::steady_clock::now() + keep_for_;
        } else {
            // Answered or failed: the name is the store's business again.
            const auto found = entries_.find(entry->name);
            if (found != entries_.end() && found->second == entry)
                entries_.erase(found);
        }
    }
    entry->changed.notify_all();
    if (state == State::Kept)
        timer_wake_.notify_all();
}

PendingResults::Turn PendingResults::begin(const std::string& name, const std::string& fingerprint,
                                           const Caller& caller) {
    std::unique_lock lock(mutex_);
    for (;;) {
        auto found = entries_.find(name);
        if (found == entries_.end()) {
            auto entry = std::make_shared<Entry>();
            entry->name = name;
            entry->fingerprint = fingerprint;
            entries_.emplace(name, entry);
            Turn turn;
            turn.ticket.emplace(Ticket(*this, std::move(entry), caller));
            return turn;
        }
        const auto entry = found->second;
        if (entry->fingerprint != fingerprint) {
            // The store's wording, so that callers see one message either way.
            throw already_exists(kind_ + " name \"" + name + "\" is " +
                                 (entry->id.empty() ? "being reserved by a different request"
                                                    : "reserved for " + entry->id));
        }
        if (entry->state == State::Kept) {
            if (caller.gone()) {
                throw StatusError(grpc::StatusCode::DEADLINE_EXCEEDED,
                                  "the caller left before " + kind_ + " " + entry->id +
                                      " could be handed over; it is kept for a retry");
            }
            entries_.erase(found);
            Turn turn;
            turn.id = entry->id;
            turn.claimed = true;
            return turn;
        }
        // Running: wait for it, looking at our own client now and then.
        entry->waiters.push_back(&caller);
        bool left = false;
        while (entry->state == State::Running) {
            if (caller.gone()) {
                left = true;
                break;
            }
            const auto now = std::chrono::system_clock::now();
            const auto slice =
                caller.deadline - now < kWaiterPoll
                    ? std::chrono::duration_cast<std::chrono::milliseconds>(caller.deadline - now)
                    : kWaiterPoll;
            entry->changed.wait_for(lock, std::max(slice, std::chrono::milliseconds(1)));
        }
        entry->waiters.erase(std::find(entry->waiters.begin(), entry->waiters.end(), &caller));
        if (entry->state == State::Answered) {
            Turn turn;
            turn.id = entry->id;
            return turn;
        }
        if (left) {
            if (caller.expired()) {
                throw StatusError(grpc::StatusCode::DEADLINE_EXCEEDED,
                                  kind_ + " name \"" + name +
                                      "\" is still being created by an earlier identical "
                                      "request; a retry gets its result");
            }
            throw StatusError(grpc::StatusCode::CANCELLED, "the caller cancelled");
        }
        // Failed (this call runs it again) or kept (this call takes it):
        // look again.
    }
}

void PendingResults::keep(const std::string& name, const std::string& fingerprint,
                          const std::string& id) {
    auto entry = std::make_shared<Entry>();
    entry->name = name;
    entry->fingerprint = fingerprint;
    entry->id = id;
    entry->state = State::Kept;
    entry->expires = std::chrono::steady_clock::now() + keep_for_;
    {
        std::lock_guard lock(mutex_);
        auto& slot = entries_[name];
        if (slot && slot->state == State::Running) {
            // Only after a failed hand-over, while a new identical call runs:
            // that one meets the kept object's name and fails, and the
            // object is found by its id.
            spdlog::error("{} {} ({}) cannot be kept: another call for its name runs", kind_, id,
                          name);
            return;
        }
        slot = std::move(entry);
    }
    timer_wake_.notify_all();
}

std::size_t PendingResults::kept_count() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(entries_.begin(), entries_.end(),
                      [](const auto& item) { return item.second->state == State::Kept; }));
}

void PendingResults::expire_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        auto next = std::chrono::steady_clock::time_point::max();
        std::shared_ptr<Entry> due;
        const auto now = std::chrono::steady_clock::now();
        for (const auto& [name, entry] : entries_) {
            if (entry->state != State::Kept)
                continue;
            if (entry->expires <= now) {
                due = entry;
                break;
            }
            next = std::min(next, entry->expires);
        }
        if (!due) {
            if (next == std::chrono::steady_clock::time_point::max())
                timer_wake_.wait(lock);
            else
                timer_wake_.wait_until(lock, next);
            continue;
        }
        // Out of the table first, so that a retry can no longer take what
        // is being undone (it runs anew once the name is free).
        entries_.erase(due->name);
        lock.unlock();
        spdlog::warn("nobody asked again for {} {} ({}) within {:g} s: removing it", kind_, due->id,
                     due->name, static_cast<double>(keep_for_.count()) / 1000);
        try {
            undo_(due->id);
        } catch (const std::exception& error) {
            spdlog::error("removing unclaimed {} {}: {}", kind_, due->id, error.what());
        }
        lock.lock();
    }
}

}  // namespace berth::daemon
