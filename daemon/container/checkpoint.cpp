#include "container/checkpoint.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "berth/storage/atomic_file.hpp"
#include "container/checkpoint_archive.hpp"
#include "request_paths.hpp"
#include "status_error.hpp"

namespace berth::daemon::container {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Mount points every container has; CRI-O (after Podman) keeps them out of
// the root filesystem diff and out of bind.mounts.
const std::set<std::string>& container_mounts() {
    static const std::set<std::string> mounts = {
        "/dev", "/dev/shm", "/proc", "/run", "/run/.containerenv", "/run/secrets", "/sys",
    };
    return mounts;
}

// Go's time.Time in JSON (RFC 3339 with nanoseconds), as checkpointctl reads
// config.dump; 0 is Go's zero time.
std::string rfc3339(std::int64_t ns) {
    if (ns <= 0)
        return "0001-01-01T00:00:00Z";
    const std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char date[32];
    std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &utc);
    char fraction[16];
    std::snprintf(fraction, sizeof(fraction), ".%09lld",
                  static_cast<long long>(ns % 1'000'000'000));
    return std::string(date) + fraction + "Z";
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool is_bind_mount(const json& mount) {
    if (mount.value("type", "") == "bind")
        return true;
    for (const auto& option : mount.value("options", json::array())) {
        if (option == "bind" || option == "rbind")
            return true;
    }
    return false;
}

// The directory the archive is assembled in, below the container's own
// record directory; removed whatever happens.
class WorkDirectory {
public:
    explicit WorkDirectory(const std::string& parent) {
        std::string pattern = parent + "/checkpoint-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("creating a checkpoint directory in " + parent + ": " +
                                     std::strerror(errno));
        }
        path_ = pattern;
    }
    ~WorkDirectory() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    WorkDirectory(const WorkDirectory&) = delete;
    WorkDirectory& operator=(const WorkDirectory&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Frozen while its processes and files are copied, so that the two agree;
// thawed on the way out, also when the dump failed.
class PausedContainer {
public:
    PausedContainer(oci::RuntimeImpl& runtime, std::string id)
        : runtime_(runtime), id_(std::move(id)) {
        runtime_.pause(id_);
    }
    ~PausedContainer() {
        try {
            runtime_.unpause(id_);
        } catch (const std::exception& error) {
            spdlog::error("container {} stays paused after its checkpoint: {}", id_, error.what());
        }
    }
    PausedContainer(const PausedContainer&) = delete;
    PausedContainer& operator=(const PausedContainer&) = delete;

private:
    oci::RuntimeImpl& runtime_;
    std::string id_;
};

// The archive replaces whatever regular file is at `archive` (by a rename,
// which never follows a link), and nothing else: not a directory, and not a
// symbolic link (whose target a client may have hoped to overwrite) or a
// device, fifo or socket that a rename would silently take the place of.
void require_archive_path(const fs::path& archive) {
    std::error_code error;
    const auto existing = fs::symlink_status(archive, error);
    if (fs::is_symlink(existing)) {
        throw invalid_argument("location " + quoted_value(archive.string()) +
                               " is a symbolic link, which is never followed or replaced");
    }
    if (fs::is_directory(existing)) {
        throw invalid_argument("location " + quoted_value(archive.string()) +
                               " is a directory, not a file");
    }
    if (fs::exists(existing) && !fs::is_regular_file(existing)) {
        throw invalid_argument("location " + quoted_value(archive.string()) +
                               " exists and is not a regular file");
    }
    const fs::path parent = archive.parent_path();
    if (!fs::is_directory(parent, error)) {
        throw invalid_argument("location " + quoted_value(archive.string()) +
                               ": the directory " + quoted_value(parent.string()) +
                               " does not exist");
    }
}

json config_dump(const Container& record) {
    std::string image_ref = record.image_id;
    if (image_ref.rfind("sha256:", 0) == 0)
        image_ref.erase(0, 7);
    const auto& image = record.config.image();
    return {
        {"id", record.id},
        {"name", record.name},
        {"rootfsImage",
         image.user_specified_image().empty() ? image.image() : image.user_specified_image()},
        {"rootfsImageRef", image_ref},
        {"rootfsImageName", image.image()},
        {"runtime", record.runtime_handler},
        {"createdTime", rfc3339(record.created_at)},
        {"checkpointedTime", rfc3339(now_ns())},
        {"restoredTime", rfc3339(0)},
        {"restored", false},
    };
}

// The bind mounts a restore has to recreate, with whether each source is a
// file or a directory (CRIU cannot mount one on the other).
json bind_mounts(const json& spec, std::set<std::string>& excluded) {
    json mounts = json::array();
    for (const auto& mount : spec.value("mounts", json::array())) {
        const std::string destination = mount.value("destination", "");
        if (!is_bind_mount(mount) || container_mounts().count(destination) != 0)
            continue;
        excluded.insert(destination);
        const std::string source = mount.value("source", "");
        struct stat info {};
        if (::stat(source.c_str(), &info) != 0)
            continue;  // gone since the container started: nothing to recreate
        mounts.push_back({
            {"source", source},
            {"destination", destination},
            {"file_type", S_ISDIR(info.st_mode) ? "directory" : "file"},
            {"permissions", info.st_mode & 07777},
        });
    }
    return mounts;
}

}  // namespace

void checkpoint_container(const CheckpointInputs& inputs) {
    const Container& record = *inputs.record;
    const fs::path archive(inputs.archive);
    require_archive_path(archive);

    const std::string spec_text = storage::read_whole_file(record.bundle + "/config.json");
    json spec;
    try {
        spec = json::parse(spec_text);
    } catch (const json::exception& error) {
        throw std::runtime_error("the OCI spec of " + record.id + " is not JSON: " + error.what());
    }

    WorkDirectory work(record.bundle);
    storage::write_file_atomically((work.path() / "config.dump").string(),
                                   config_dump(record).dump(2), 0600);
    storage::write_file_atomically((work.path() / "spec.dump").string(), spec_text, 0600);
    std::set<std::string> excluded = container_mounts();
    const json mounts = bind_mounts(spec, excluded);
    if (!mounts.empty()) {
        storage::write_file_atomically((work.path() / "bind.mounts").string(), mounts.dump(2),
                                       0600);
    }
    {
        PausedContainer paused(*inputs.runtime, record.id);
        inputs.runtime->checkpoint(record.id, (work.path() / "checkpoint").string(), true,
                                   inputs.timeout);
        if (!inputs.upper_dir.empty()) {
            write_rootfs_diff(inputs.upper_dir, excluded, work.path() / "rootfs-diff.tar",
                              work.path() / "deleted.files");
        }
    }
    write_directory_archive(work.path(), archive);
}

}  // namespace berth::daemon::container
