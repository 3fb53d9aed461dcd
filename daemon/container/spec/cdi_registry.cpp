#include "container/spec/cdi_registry.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>

#include <spdlog/spdlog.h>

namespace berth::daemon::container::cdi {

namespace {

namespace fs = std::filesystem;

// Vendor specs are a few KiB; a larger file is a mistake not worth reading
// for every container.
constexpr std::uintmax_t kMaxSpecSize = 4 * 1024 * 1024;

// A broken file stays broken until someone edits it, and is seen again at
// every CreateContainer that asks for a CDI device: its warning is logged
// once per problem and file content.
void warn_once(const std::string& message, const std::string& content) {
    static std::mutex mutex;
    static std::set<std::pair<std::string, std::size_t>> warned;
    const auto key = std::pair{message, std::hash<std::string>{}(content)};
    {
        const std::lock_guard lock(mutex);
        if (!warned.insert(key).second) {
            return;
        }
    }
    spdlog::warn("{}", message);
}

std::vector<fs::path> spec_files(const std::string& dir) {
    std::vector<fs::path> files;
    std::error_code error;
    for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
        std::error_code ignored;
        if (spec_format_of(it->path().filename().string()) && it->is_regular_file(ignored)) {
            files.push_back(it->path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

Registry Registry::load(const std::vector<std::string>& dirs) {
    Registry registry;
    const auto skip = [&](const std::string& message, const std::string& content) {
        warn_once(message, content);
        registry.skipped_.push_back(message);
    };
    for (const auto& dir : dirs) {
        // One directory is one priority level: a name two of its files
        // define is ambiguous, and neither definition is used, nor one from
        // an earlier directory that this one meant to replace.
        std::map<std::string, Entry> level;
        std::map<std::string, std::string> defined_in;
        std::set<std::string> conflicts;
        for (const auto& file : spec_files(dir)) {
            const std::string path = file.string();
            std::error_code error;
            const auto size = fs::file_size(file, error);
            if (error || size > kMaxSpecSize) {
                skip("CDI spec " + path +
                         " skipped: " + (error ? error.message() : "larger than 4 MiB"),
                     std::to_string(size));
                continue;
            }
            std::ifstream in(file, std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            if (!in) {
                skip("CDI spec " + path + " skipped: cannot be read", "");
                continue;
            }
            const std::string content = text.str();
            std::shared_ptr<const Spec> spec;
            try {
                spec = std::make_shared<const Spec>(
                    parse_spec(content, *spec_format_of(file.filename().string()), path));
            } catch (const SpecFileError& problem) {
                skip("CDI spec " + path + " skipped: " + problem.what(), content);
                continue;
            }
            for (const auto& device : spec->devices) {
                const std::string qualified = spec->kind + "=" + device.name;
                const auto [it, inserted] = level.try_emplace(qualified, Entry{spec, &device});
                if (!inserted) {
                    skip("CDI device " + qualified + " skipped: defined by both " +
                             defined_in[qualified] + " and " + path,
                         "");
                    conflicts.insert(qualified);
                } else {
                    defined_in[qualified] = path;
                }
            }
        }
        for (const auto& name : conflicts) {
            level.erase(name);
            registry.devices_.erase(name);
        }
        for (auto& [name, entry] : level) {
            registry.devices_[name] = std::move(entry);
        }
    }
    return registry;
}

const Registry::Entry* Registry::find(const std::string& qualified) const {
    const auto found = devices_.find(qualified);
    return found == devices_.end() ? nullptr : &found->second;
}

}  // namespace berth::daemon::container::cdi
