#include "sandbox/sandbox_store.hpp"

#include <filesystem>

#include "berth/storage/atomic_file.hpp"
#include "sandbox/ids.hpp"
#include "status_error.hpp"

namespace berth::daemon::sandbox {

namespace fs = std::filesystem;

SandboxStore::SandboxStore(std::string state_dir) : state_dir_(std::move(state_dir)) {}

std::string SandboxStore::record_path(const std::string& id) const {
    return directory_of(id) + "/sandbox.json";
}

void SandboxStore::reserve_name(const std::string& name, const std::string& id) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = names_.emplace(name, id);
    if (!inserted && it->second != id) {
        throw already_exists("pod sandbox name \"" + name + "\" is reserved for " + it->second);
    }
}

void SandboxStore::release_name(const std::string& name, const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = names_.find(name);
    if (it != names_.end() && it->second == id) {
        names_.erase(it);
    }
}

void SandboxStore::put(const Sandbox& record) {
    fs::create_directories(directory_of(record.id));
    storage::write_file_atomically(record_path(record.id), to_json(record).dump(2));
    auto snapshot = std::make_shared<const Sandbox>(record);
    std::lock_guard lock(mutex_);
    entries_[record.id].record = std::move(snapshot);
}

void SandboxStore::erase(const std::string& id) {
    std::error_code ignored;
    fs::remove_all(directory_of(id), ignored);
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

std::string SandboxStore::resolve(const std::string& id_or_prefix) const {
    if (!is_hex_id_prefix(id_or_prefix)) {
        if (id_or_prefix.empty()) {
            throw invalid_argument("pod sandbox id is empty");
        }
        throw not_found("pod sandbox \"" + id_or_prefix + "\" not found");
    }
    std::lock_guard lock(mutex_);
    auto it = entries_.lower_bound(id_or_prefix);
    if (it == entries_.end() || it->first.compare(0, id_or_prefix.size(), id_or_prefix) != 0) {
        throw not_found("pod sandbox \"" + id_or_prefix + "\" not found");
    }
    auto next = std::next(it);
    if (next != entries_.end() && next->first.compare(0, id_or_prefix.size(), id_or_prefix) == 0) {
        throw invalid_argument("pod sandbox id prefix \"" + id_or_prefix +
                               "\" is ambiguous: it matches more than one pod");
    }
    return it->first;
}

std::shared_ptr<const Sandbox> SandboxStore::get(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second.record;
}

std::vector<std::shared_ptr<const Sandbox>> SandboxStore::list() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<const Sandbox>> result;
    for (const auto& [id, entry] : entries_) {
        result.push_back(entry.record);
    }
    return result;
}

std::shared_ptr<std::mutex> SandboxStore::operation_lock(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second.operation;
}

void SandboxStore::load(std::vector<std::string>& problems) {
    std::error_code error;
    if (!fs::is_directory(state_dir_, error)) {
        return;
    }
    for (const auto& entry : fs::directory_iterator(state_dir_, error)) {
        const std::string id = entry.path().filename().string();
        if (!entry.is_directory() || !is_hex_id_prefix(id) || id.size() != 64) {
            continue;
        }
        try {
            Sandbox record;
            from_json(nlohmann::json::parse(storage::read_whole_file(record_path(id))), record);
            if (record.id != id) {
                throw std::runtime_error("record names id " + record.id);
            }
            std::lock_guard lock(mutex_);
            names_[record.name] = id;
            entries_[id].record = std::make_shared<const Sandbox>(std::move(record));
        } catch (const std::exception& problem) {
            problems.push_back(record_path(id) + ": " + problem.what());
        }
    }
}

}  // namespace berth::daemon::sandbox
