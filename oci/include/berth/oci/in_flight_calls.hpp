// The calls of one kind a runtime has in flight, for
// RuntimeImpl::abandon_calls(): what each started is ended when berthd exits
// under them. An entry lives exactly as long as its call.
#pragma once

#include <mutex>
#include <set>

namespace berth::oci {

template <typename T>
class InFlightCalls {
public:
    // Registers `item` until the returned entry is destroyed.
    class Entry {
    public:
        Entry(InFlightCalls& calls, T* item) : calls_(calls), item_(item) {
            std::lock_guard lock(calls_.mutex_);
            calls_.items_.insert(item_);
        }
        ~Entry() {
            std::lock_guard lock(calls_.mutex_);
            calls_.items_.erase(item_);
        }
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;

    private:
        InFlightCalls& calls_;
        T* item_;
    };

    // Calls `action` on every item in flight, with new entries held off.
    template <typename Action>
    void for_each(Action action) {
        std::lock_guard lock(mutex_);
        for (T* item : items_)
            action(*item);
    }

private:
    std::mutex mutex_;
    std::set<T*> items_;
};

}  // namespace berth::oci
