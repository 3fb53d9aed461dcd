// The calls that create a named object (RunPodSandbox, CreateContainer) and
// their results, per reserved name, until the answer reached someone.
//
// kubelet gives up on a slow call after its runtime request timeout and
// sends the identical request again. The first call still runs to its end
// (gRPC does not stop a handler whose client left), so without this the
// name it reserved refuses every retry. Here a retry finds the call that is
// still running and waits for it, or finds the result that nobody received
// and takes it; a result nobody asks for again within `keep_for` is undone,
// so that nothing stays behind unseen.
//
// Requests are compared by their fingerprint (request_fingerprint): only an
// identical request may have another call's result; a different one for the
// same name is ALREADY_EXISTS.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace google::protobuf {
class Message;
}

namespace berth::daemon {

// The client of one call, as far as its answer is concerned.
struct Caller {
    // When the client stops waiting; max() when it never does.
    std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
    // True once the client cancelled or went away. Only ever called on the
    // call's own thread (gRPC's IsCancelled is not meant for others).
    std::function<bool()> cancelled;

    bool expired() const { return std::chrono::system_clock::now() >= deadline; }
    bool gone() const { return expired() || (cancelled && cancelled()); }
};

// "sha256:<hex>" of the deterministic serialization of `request` (map
// entries sorted), so that equal requests have equal fingerprints in every
// berthd that reads them back from disk.
std::string request_fingerprint(const google::protobuf::Message& request);

class PendingResults {
    struct Entry;

public:
    // `kind` names the objects in messages ("pod sandbox"); `undo` removes an
    // object nobody claimed (it runs on the class's own thread and must not
    // throw; what it throws is logged).
    PendingResults(std::string kind, std::chrono::milliseconds keep_for,
                   std::function<void(const std::string& id)> undo);
    // Stops the timer without undoing anything: kept results are on disk
    // and restore keeps them again.
    ~PendingResults();
    PendingResults(const PendingResults&) = delete;
    PendingResults& operator=(const PendingResults&) = delete;

    // The call that runs: it holds the name's entry until it is answered,
    // kept or dropped (destroyed unfinished: the call failed, and an
    // identical waiting call then runs itself).
    class Ticket {
    public:
        Ticket(Ticket&& other) noexcept;
        Ticket& operator=(Ticket&&) = delete;
        ~Ticket();

        // The id the call reserved the name for, named in ALREADY_EXISTS.
        void reserved(const std::string& id);
        // At the end of the work: can the result still reach anyone, the
        // call's own client or an identical call waiting for it?
        bool answer_wanted() const;
        // The result is visible and answered: waiting calls get it too.
        void answered(const std::string& id);
        // Nobody is there for the result: it waits for a retry (or undo).
        void kept(const std::string& id);

    private:
        friend class PendingResults;
        Ticket(PendingResults& owner, std::shared_ptr<Entry> entry, const Caller& caller)
            : owner_(&owner), entry_(std::move(entry)), caller_(&caller) {}
        PendingResults* owner_;
        std::shared_ptr<Entry> entry_;
        const Caller* caller_;
    };

    // What a call for `name` does, decided by begin().
    struct Turn {
        // Run the call (and finish the ticket), when set.
        std::optional<Ticket> ticket;
        // Otherwise answer with this id, which an identical call created.
        std::string id;
        // The id is a kept result, still hidden: make it visible first (and
        // keep() it again if that fails).
        bool claimed = false;
    };

    // Before the call does anything. An identical call running for `name`
    // is waited for, until it ends or `caller`'s deadline passes
    // (DEADLINE_EXCEEDED, the result is then kept for the next retry) or it
    // leaves (CANCELLED). A different request for a name that is in use
    // here is ALREADY_EXISTS. Throws StatusError.
    Turn begin(const std::string& name, const std::string& fingerprint, const Caller& caller);

    // Keeps `id` as the unclaimed result of `name` for `keep_for` from now:
    // restore, for what a stopped berthd left, and a claim that failed.
    void keep(const std::string& name, const std::string& fingerprint, const std::string& id);

    // Results waiting to be claimed (for tests and logs).
    std::size_t kept_count() const;

private:
    enum class State { Running, Answered, Failed, Kept };
    struct Entry {
        std::string name;
        std::string fingerprint;
        State state = State::Running;
        std::string id;
        std::chrono::steady_clock::time_point expires;
        // Identical calls waiting for this one.
        std::vector<const Caller*> waiters;
        std::condition_variable changed;
    };

    void settle(const std::shared_ptr<Entry>& entry, State state, const std::string& id);
    void expire_loop();

    const std::string kind_;
    const std::chrono::milliseconds keep_for_;
    const std::function<void(const std::string&)> undo_;

    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Entry>> entries_;  // by name
    std::condition_variable timer_wake_;
    bool stopping_ = false;
    std::thread timer_;  // last: started once everything above exists
};

}  // namespace berth::daemon
