// The in-memory store of one kind of record (pod sandboxes, containers) with
// its name registrar and durable copies under <root>/<kind>/<id>/<file>.
//
// Readers get immutable snapshots (shared_ptr<const Record>), so a slow stop
// never blocks a status call; writers persist a new record first and then
// swap it in. Lifecycle operations on one record are serialised by its
// operation mutex. RecordTraits<Record> names the kind in messages and the
// record's file.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/storage/atomic_file.hpp"
#include "sandbox/ids.hpp"
#include "status_error.hpp"

namespace berth::daemon {

template <typename Record>
struct RecordTraits;  // kind ("pod sandbox"), noun ("pod"), file ("sandbox.json")

template <typename Record>
class RecordStore {
    using Traits = RecordTraits<Record>;

public:
    explicit RecordStore(std::string state_dir) : state_dir_(std::move(state_dir)) {}

    const std::string& state_dir() const { return state_dir_; }
    std::string directory_of(const std::string& id) const { return state_dir_ + "/" + id; }

    // Claims `name` for `id`; throws ALREADY_EXISTS naming the holder.
    void reserve_name(const std::string& name, const std::string& id) {
        std::lock_guard lock(mutex_);
        auto [it, inserted] = names_.emplace(name, id);
        if (!inserted && it->second != id) {
            throw already_exists(std::string(Traits::kind) + " name \"" + name +
                                 "\" is reserved for " + it->second);
        }
    }

    void release_name(const std::string& name, const std::string& id) {
        std::lock_guard lock(mutex_);
        auto it = names_.find(name);
        if (it != names_.end() && it->second == id) {
            names_.erase(it);
        }
    }

    // Writes the record durably, then makes it the current snapshot.
    void put(const Record& record) {
        std::filesystem::create_directories(directory_of(record.id));
        storage::write_file_atomically(record_path(record.id), to_json(record).dump(2));
        auto snapshot = std::make_shared<const Record>(record);
        std::lock_guard lock(mutex_);
        entries_[record.id].record = std::move(snapshot);
    }

    // Forgets the record (memory, disk directory, name).
    void erase(const std::string& id) {
        std::error_code ignored;
        std::filesystem::remove_all(directory_of(id), ignored);
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        if (it == entries_.end()) {
            return;
        }
        auto name = names_.find(it->second.record->name);
        if (name != names_.end() && name->second == id) {
            names_.erase(name);
        }
        entries_.erase(it);
    }

    // A full id from an id or a unique prefix of one; throws NOT_FOUND for no
    // match and INVALID_ARGUMENT for an empty id or an ambiguous prefix.
    std::string resolve(const std::string& id_or_prefix) const {
        const std::string kind = Traits::kind;
        if (!is_hex_id_prefix(id_or_prefix)) {
            if (id_or_prefix.empty()) {
                throw invalid_argument(kind + " id is empty");
            }
            throw not_found(kind + " \"" + id_or_prefix + "\" not found");
        }
        std::lock_guard lock(mutex_);
        auto it = entries_.lower_bound(id_or_prefix);
        if (it == entries_.end() || it->first.compare(0, id_or_prefix.size(), id_or_prefix) != 0) {
            throw not_found(kind + " \"" + id_or_prefix + "\" not found");
        }
        auto next = std::next(it);
        if (next != entries_.end() &&
            next->first.compare(0, id_or_prefix.size(), id_or_prefix) == 0) {
            throw invalid_argument(kind + " id prefix \"" + id_or_prefix +
                                   "\" is ambiguous: it matches more than one " + Traits::noun);
        }
        return it->first;
    }

    // The full id, or "" when nothing matches (an ambiguous prefix still
    // throws): for the idempotent calls where an unknown id is fine.
    std::string resolve_if_known(const std::string& id_or_prefix) const {
        try {
            return resolve(id_or_prefix);
        } catch (const StatusError& error) {
            if (error.code() == grpc::StatusCode::NOT_FOUND)
                return {};
            throw;
        }
    }

    // nullptr when unknown.
    std::shared_ptr<const Record> get(const std::string& id) const {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        return it == entries_.end() ? nullptr : it->second.record;
    }

    std::vector<std::shared_ptr<const Record>> list() const {
        std::lock_guard lock(mutex_);
        std::vector<std::shared_ptr<const Record>> result;
        for (const auto& [id, entry] : entries_) {
            result.push_back(entry.record);
        }
        return result;
    }

    std::shared_ptr<std::mutex> operation_lock(const std::string& id) const {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        return it == entries_.end() ? nullptr : it->second.operation;
    }

    // Reads every record on disk into the store (once, at start). Records
    // that cannot be read are reported in `problems` and left alone.
    void load(std::vector<std::string>& problems) {
        std::error_code error;
        if (!std::filesystem::is_directory(state_dir_, error)) {
            return;
        }
        for (const auto& entry : std::filesystem::directory_iterator(state_dir_, error)) {
            const std::string id = entry.path().filename().string();
            if (!entry.is_directory() || !is_hex_id_prefix(id) || id.size() != 64) {
                continue;
            }
            try {
                Record record;
                from_json(nlohmann::json::parse(storage::read_whole_file(record_path(id))), record);
                if (record.id != id) {
                    throw std::runtime_error("record names id " + record.id);
                }
                std::lock_guard lock(mutex_);
                names_[record.name] = id;
                entries_[id].record = std::make_shared<const Record>(std::move(record));
            } catch (const std::exception& problem) {
                problems.push_back(record_path(id) + ": " + problem.what());
            }
        }
    }

private:
    struct Entry {
        std::shared_ptr<const Record> record;
        std::shared_ptr<std::mutex> operation = std::make_shared<std::mutex>();
    };

    std::string record_path(const std::string& id) const {
        return directory_of(id) + "/" + Traits::file;
    }

    std::string state_dir_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry> entries_;
    std::map<std::string, std::string> names_;  // name -> id
};

}  // namespace berth::daemon
