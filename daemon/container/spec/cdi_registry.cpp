#include "container/spec/cdi_registry.hpp"

#include <sys/stat.h>

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

// A parsed file, kept while the file is unchanged (same inode, size and
// modification time): parsing a directory of YAML specs costs milliseconds,
// which every CreateContainer with a device would otherwise pay.
struct ParsedFile {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    std::shared_ptr<const Spec> spec;  // null when unusable
    std::string problem;               // why, when unusable
    std::string content;               // of an unusable file, so as to warn once per content
};

std::int64_t mtime_ns(const struct stat& info) {
    return static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
}

ParsedFile parse_file(const fs::path& file, const struct stat& info) {
    ParsedFile parsed;
    parsed.device = info.st_dev;
    parsed.inode = info.st_ino;
    parsed.size = info.st_size;
    parsed.mtime_ns = mtime_ns(info);
    if (static_cast<std::uintmax_t>(info.st_size) > kMaxSpecSize) {
        parsed.problem = "larger than 4 MiB";
        return parsed;
    }
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
        parsed.problem = "cannot be read";
        return parsed;
    }
    try {
        parsed.spec = std::make_shared<const Spec>(
            parse_spec(text.str(), *spec_format_of(file.filename().string()), file.string()));
    } catch (const SpecFileError& problem) {
        parsed.problem = problem.what();
        parsed.content = text.str();
    }
    return parsed;
}

}  // namespace

Registry Registry::load(const std::vector<std::string>& dirs) {
    static std::mutex cache_mutex;
    static std::map<std::string, ParsedFile> cache;
    const std::lock_guard lock(cache_mutex);
    std::set<std::string> seen;

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
            struct stat info {};
            if (stat(path.c_str(), &info) != 0) {
                continue;  // removed since the directory was listed
            }
            seen.insert(path);
            auto cached = cache.find(path);
            if (cached == cache.end() || cached->second.device != info.st_dev ||
                cached->second.inode != info.st_ino || cached->second.size != info.st_size ||
                cached->second.mtime_ns != mtime_ns(info)) {
                cached = cache.insert_or_assign(path, parse_file(file, info)).first;
            }
            const ParsedFile& parsed = cached->second;
            if (!parsed.spec) {
                skip("CDI spec " + path + " skipped: " + parsed.problem, parsed.content);
                continue;
            }
            const std::shared_ptr<const Spec>& spec = parsed.spec;
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
    // Files that went (or directories no longer configured) leave the cache.
    std::erase_if(cache, [&](const auto& item) { return seen.count(item.first) == 0; });
    return registry;
}

const Registry::Entry* Registry::find(const std::string& qualified) const {
    const auto found = devices_.find(qualified);
    return found == devices_.end() ? nullptr : &found->second;
}

}  // namespace berth::daemon::container::cdi
