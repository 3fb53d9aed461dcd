#include "container/checkpoint_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/storage/atomic_file.hpp"
#include "unique_fd.hpp"

namespace berth::daemon::container {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& reason) {
    throw std::runtime_error(what + ": " + reason);
}

// One tar being written; libarchive's handle freed whatever happens.
class TarWriter {
public:
    // Into `fd` when given (the caller opened the file as it must be
    // opened), else into `file`, created by libarchive.
    explicit TarWriter(const fs::path& file, int fd = -1)
        : file_(file), archive_(archive_write_new(), archive_write_free) {
        if (!archive_)
            fail("writing " + file_.string(), "libarchive could not start");
        // pax keeps long names, large files and nanosecond times exactly.
        if (archive_write_set_format_pax_restricted(handle()) != ARCHIVE_OK)
            fail("writing " + file_.string(), error());
        if (fd >= 0 && archive_write_open_fd(handle(), fd) != ARCHIVE_OK)
            fail("writing " + file_.string(), error());
        if (fd < 0 && archive_write_open_filename(handle(), file_.c_str()) != ARCHIVE_OK)
            fail("writing " + file_.string(), error());
    }

    // Adds `source` (lstat'ed: links stay links) under the name `name`.
    // Returns false for a kind of file a tar of this use keeps out.
    bool add(const fs::path& source, const std::string& name) {
        struct stat info {};
        if (::lstat(source.c_str(), &info) != 0)
            fail("reading " + source.string(), std::strerror(errno));
        if (!S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode) && !S_ISLNK(info.st_mode))
            return false;
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                            archive_entry_free);
        archive_entry_copy_stat(entry.get(), &info);
        archive_entry_copy_pathname(entry.get(), name.c_str());
        if (S_ISLNK(info.st_mode)) {
            std::error_code error;
            const fs::path target = fs::read_symlink(source, error);
            if (error)
                fail("reading the link " + source.string(), error.message());
            archive_entry_copy_symlink(entry.get(), target.c_str());
        }
        if (archive_write_header(handle(), entry.get()) != ARCHIVE_OK)
            fail("writing " + file_.string(), error());
        if (S_ISREG(info.st_mode))
            copy_data(source);
        return true;
    }

    void close() {
        if (archive_write_close(handle()) != ARCHIVE_OK)
            fail("writing " + file_.string(), error());
    }

private:
    archive* handle() const { return archive_.get(); }
    std::string error() const {
        const char* text = archive_error_string(handle());
        return text != nullptr ? text : "libarchive failed";
    }

    void copy_data(const fs::path& source) {
        const UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!fd)
            fail("reading " + source.string(), std::strerror(errno));
        std::vector<char> buffer(1 << 16);
        for (;;) {
            const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                fail("reading " + source.string(), std::strerror(errno));
            if (got == 0)
                return;
            if (archive_write_data(handle(), buffer.data(), static_cast<std::size_t>(got)) < 0)
                fail("writing " + file_.string(), error());
        }
    }

    fs::path file_;
    std::unique_ptr<archive, int (*)(archive*)> archive_;
};

// Visits every entry below `root`, parents before their children; `visit`
// returns false to leave a directory's contents out.
void walk(const fs::path& root,
          const std::function<bool(const fs::path&, const std::string&)>& visit) {
    std::error_code error;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, error);
    if (error)
        fail("reading " + root.string(), error.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
        if (error)
            fail("reading " + root.string(), error.message());
        const fs::path& path = it->path();
        const std::string relative = path.lexically_relative(root).generic_string();
        if (!visit(path, relative))
            it.disable_recursion_pending();
    }
    if (error)
        fail("reading " + root.string(), error.message());
}

bool is_whiteout(const fs::path& path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0 && S_ISCHR(info.st_mode) && info.st_rdev == 0;
}

// A temporary sibling of `target` that is removed unless committed.
struct PendingFile {
    fs::path path;
    bool committed = false;
    ~PendingFile() {
        if (!committed) {
            std::error_code ignored;
            fs::remove(path, ignored);
        }
    }
};

}  // namespace

void write_directory_archive(const fs::path& directory, const fs::path& archive) {
    // A new file of an unpredictable name (mkostemp: O_CREAT | O_EXCL, so
    // never through a link someone planted under the name), 0600 from the
    // start so that the memory pages are never readable by others, and
    // written through this descriptor only.
    std::string name = archive.string() + ".tmp-XXXXXX";
    const UniqueFd created(::mkostemp(name.data(), O_CLOEXEC));
    if (!created)
        fail("creating " + name, std::strerror(errno));
    PendingFile pending{name};
    TarWriter tar(pending.path, created.get());
    walk(directory, [&](const fs::path& path, const std::string& entry) {
        tar.add(path, entry);
        return true;
    });
    tar.close();
    if (::fsync(created.get()) != 0)
        fail("writing " + pending.path.string(), std::strerror(errno));
    std::error_code error;
    fs::rename(pending.path, archive, error);
    if (error)
        fail("renaming " + pending.path.string() + " to " + archive.string(), error.message());
    pending.committed = true;
}

std::size_t write_rootfs_diff(const fs::path& upper, const std::set<std::string>& excluded,
                              const fs::path& diff, const fs::path& deleted_list) {
    nlohmann::json deleted = nlohmann::json::array();
    TarWriter tar(diff);
    walk(upper, [&](const fs::path& path, const std::string& name) {
        const std::string in_container = "/" + name;
        if (excluded.count(in_container) != 0)
            return false;
        if (is_whiteout(path)) {
            deleted.push_back(in_container);
            return true;
        }
        tar.add(path, name);
        return true;
    });
    tar.close();
    if (!deleted.empty())
        storage::write_file_atomically(deleted_list.string(), deleted.dump(), 0600);
    return deleted.size();
}

}  // namespace berth::daemon::container
