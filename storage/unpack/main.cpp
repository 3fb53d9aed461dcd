// berth-unpack [--no-devices] ARCHIVE DESTINATION
//
// Extracts one image layer (a gzip, zstd or plain tar blob) into DESTINATION,
// an existing empty directory, from inside a chroot of it: whatever the
// archive says, nothing can land outside. OCI/AUFS whiteouts become overlayfs
// whiteouts. On success prints one JSON line with the layer's diff ID (the
// sha256 of the uncompressed tar stream); on failure prints one line naming
// the offending entry on stderr and exits 1.
//
// A separate process because chroot() is impossible in berthd's threads, and
// because a libarchive crash or a decompression bomb must cost only this
// process, never the daemon's memory or life.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

class Failure : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The destination's filesystem (or its quota) is full: berthd answers
// RESOURCE_EXHAUSTED for it, not a complaint about the layer.
class NoSpace : public Failure {
    using Failure::Failure;
};

// The exit status that says NoSpace (layer_unpack.cpp reads it).
constexpr int kExitNoSpace = 3;

// Entry names come from untrusted archives: quote them so that the one-line
// error stays one line and valid UTF-8 whatever bytes the name holds.
std::string quoted(std::string_view name) {
    std::string out = "\"";
    for (const unsigned char c : name) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

[[noreturn]] void fail_entry(std::string_view name, const std::string& reason) {
    throw Failure("entry " + quoted(name) + ": " + reason);
}

std::string errno_text(int error) {
    return std::strerror(error);
}

std::string archive_text(archive* a) {
    const char* text = archive_error_string(a);
    return text != nullptr ? text : "unknown libarchive error";
}

// A failure of the disk writer: NoSpace when the filesystem is full, with
// the errno text libarchive's own message ("Write failed") leaves out.
[[noreturn]] void fail_write(std::string_view name, archive* writer) {
    const int error = archive_errno(writer);
    if (error == ENOSPC || error == EDQUOT) {
        throw NoSpace("entry " + quoted(name) + ": " + archive_text(writer) + ": " +
                      std::strerror(error));
    }
    fail_entry(name, archive_text(writer));
}

class UniqueFd {
public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    ~UniqueFd() {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

struct ReadArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteArchiveFree {
    void operator()(archive* a) const { archive_write_free(a); }
};
using ReadArchive = std::unique_ptr<archive, ReadArchiveFree>;
using WriteArchive = std::unique_ptr<archive, WriteArchiveFree>;

class Sha256 {
public:
    Sha256() : context_(EVP_MD_CTX_new()) {
        if (context_ == nullptr || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1) {
            throw Failure("cannot initialise SHA-256");
        }
    }
    void update(const void* data, std::size_t size) {
        EVP_DigestUpdate(context_.get(), data, size);
    }
    std::string hex() {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_DigestFinal_ex(context_.get(), digest, &length);
        std::string out;
        for (unsigned int i = 0; i < length; ++i) {
            char pair[3];
            std::snprintf(pair, sizeof pair, "%02x", digest[i]);
            out += pair;
        }
        return out;
    }

private:
    struct Free {
        void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
    };
    std::unique_ptr<EVP_MD_CTX, Free> context_;
};

// gzip through zlib rather than libarchive's filter: libarchive 3.6 skips the
// gzip trailer, so a corrupted layer would unpack "successfully". inflate()
// checks every member's CRC-32 and length.
class GzipSource {
public:
    explicit GzipSource(int fd) : fd_(fd), input_(kBufferSize), output_(kBufferSize) {
        if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) {
            throw Failure("cannot initialise zlib");
        }
    }
    ~GzipSource() { inflateEnd(&stream_); }
    GzipSource(const GzipSource&) = delete;
    GzipSource& operator=(const GzipSource&) = delete;

    // Bytes at *buffer; 0 at the end; -1 with `error` set.
    la_ssize_t next(const void** buffer, std::string& error) {
        for (;;) {
            if (stream_.avail_in == 0 && !input_ended_ && !fill(error)) {
                return -1;
            }
            if (member_ended_) {
                if (stream_.avail_in == 0) {
                    return 0;
                }
                // Concatenated members form one stream (as pigz may write).
                inflateReset(&stream_);
                member_ended_ = false;
            }
            stream_.next_out = output_.data();
            stream_.avail_out = static_cast<uInt>(output_.size());
            const int status = inflate(&stream_, Z_NO_FLUSH);
            const std::size_t produced = output_.size() - stream_.avail_out;
            if (status == Z_STREAM_END) {
                member_ended_ = true;
            } else if (status == Z_BUF_ERROR && input_ended_ && stream_.avail_in == 0) {
                error = "gzip stream is truncated";
                return -1;
            } else if (status != Z_OK && status != Z_BUF_ERROR) {
                error = std::string("gzip data is corrupt: ") +
                        (stream_.msg != nullptr ? stream_.msg : "inflate failed");
                return -1;
            }
            if (produced > 0) {
                *buffer = output_.data();
                return static_cast<la_ssize_t>(produced);
            }
        }
    }

private:
    static constexpr std::size_t kBufferSize = 1 << 20;

    bool fill(std::string& error) {
        ssize_t count = 0;
        do {
            count = read(fd_, input_.data(), input_.size());
        } while (count < 0 && errno == EINTR);
        if (count < 0) {
            error = "cannot read the layer: " + errno_text(errno);
            return false;
        }
        input_ended_ = count == 0;
        stream_.next_in = input_.data();
        stream_.avail_in = static_cast<uInt>(count);
        return true;
    }

    int fd_;
    z_stream stream_{};
    std::vector<unsigned char> input_;
    std::vector<unsigned char> output_;
    bool input_ended_ = false;
    bool member_ended_ = false;
};

bool starts_with_gzip_magic(int fd) {
    unsigned char magic[2] = {};
    return pread(fd, magic, sizeof magic, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

// The decompressed layer, hashed as the tar reader pulls it: the diff ID costs
// no second pass and no temporary file.
class LayerStream {
public:
    explicit LayerStream(int fd) {
        if (starts_with_gzip_magic(fd)) {
            gzip_ = std::make_unique<GzipSource>(fd);
            return;
        }
        outer_.reset(archive_read_new());
        archive* outer = outer_.get();
        // zstd (OCI), and bzip2 and xz which Docker also accepts; no external
        // decompressor programs, only what libarchive has built in. zstd
        // frames carry their own checksums, which libzstd verifies.
        archive_read_support_filter_zstd(outer);
        archive_read_support_filter_bzip2(outer);
        archive_read_support_filter_xz(outer);
        archive_read_support_format_raw(outer);
        archive_read_support_format_empty(outer);
        if (archive_read_open_fd(outer, fd, kBlockSize) != ARCHIVE_OK) {
            throw Failure("reading the layer: " + archive_text(outer));
        }
        archive_entry* entry = nullptr;
        const int status = archive_read_next_header(outer, &entry);
        if (status == ARCHIVE_EOF) {
            finished_ = true;
        } else if (status < ARCHIVE_WARN) {
            throw Failure("reading the layer: " + archive_text(outer));
        }
    }

    static la_ssize_t read(archive* inner, void* self, const void** buffer) {
        return static_cast<LayerStream*>(self)->next(inner, buffer);
    }

    // The tar reader stops at the end-of-archive blocks, but the padding after
    // them is part of the uncompressed stream, hence of the diff ID; and a
    // gzip trailer is only checked once reached.
    void drain() {
        const void* ignored = nullptr;
        while (next(nullptr, &ignored) > 0) {
        }
        if (!error_.empty()) {
            throw Failure("reading the layer: " + error_);
        }
    }

    const std::string& error() const { return error_; }
    std::uint64_t size() const { return size_; }
    std::string diff_id() { return "sha256:" + hash_.hex(); }

private:
    static constexpr std::size_t kBlockSize = 1 << 20;

    la_ssize_t next(archive* inner, const void** buffer) {
        if (finished_) {
            return 0;
        }
        la_ssize_t size = gzip_ ? gzip_->next(buffer, error_) : next_from_libarchive(buffer);
        if (size == 0) {
            finished_ = true;
        } else if (size < 0) {
            finished_ = true;
            if (inner != nullptr) {
                archive_set_error(inner, EIO, "%s", error_.c_str());
            }
        } else {
            hash_.update(*buffer, static_cast<std::size_t>(size));
            size_ += static_cast<std::uint64_t>(size);
        }
        return size;
    }

    la_ssize_t next_from_libarchive(const void** buffer) {
        std::size_t size = 0;
        la_int64_t offset = 0;
        const int status = archive_read_data_block(outer_.get(), buffer, &size, &offset);
        if (status == ARCHIVE_EOF) {
            return 0;
        }
        if (status != ARCHIVE_OK) {
            error_ = archive_text(outer_.get());
            return -1;
        }
        return static_cast<la_ssize_t>(size);
    }

    std::unique_ptr<GzipSource> gzip_;
    ReadArchive outer_;
    Sha256 hash_;
    std::uint64_t size_ = 0;
    bool finished_ = false;
    std::string error_;
};

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        parts.emplace_back(path.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

// Resolves `path` lexically against the layer root, as Docker and containerd
// do: "/abs" and "./x" are relative to the root, "a/../b" is "b". Empty for
// the root itself; nullopt when a ".." would climb above the root.
std::optional<std::vector<std::string>> contained_parts(std::string_view path) {
    std::vector<std::string> parts;
    for (auto& part : split_path(path)) {
        if (part.empty() || part == ".") {
            continue;
        }
        if (part == "..") {
            if (parts.empty()) {
                return std::nullopt;
            }
            parts.pop_back();
            continue;
        }
        parts.push_back(std::move(part));
    }
    return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        if (i > 0) {
            out += '/';
        }
        out += parts[i];
    }
    return out;
}

// Opens the first `count` components of `parts` below the root as a directory,
// creating missing ones, and never through a symlink an earlier entry made.
UniqueFd open_directory(const std::vector<std::string>& parts, std::size_t count,
                        std::string_view entry) {
    UniqueFd current(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (current.get() < 0) {
        fail_entry(entry, "cannot open the layer root: " + errno_text(errno));
    }
    for (std::size_t i = 0; i < count; ++i) {
        const char* name = parts[i].c_str();
        UniqueFd child(
            openat(current.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (child.get() < 0 && errno == ENOENT) {
            if (mkdirat(current.get(), name, 0755) != 0 && errno != EEXIST) {
                fail_entry(entry, "cannot create " + join(parts, i + 1) + ": " + errno_text(errno));
            }
            child = UniqueFd(
                openat(current.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        }
        if (child.get() < 0) {
            const int error = errno;
            fail_entry(entry, join(parts, i + 1) + " is not a directory" +
                                  (error == ELOOP || error == ENOTDIR ? " (a symlink or a file)"
                                                                      : ": " + errno_text(error)));
        }
        current = std::move(child);
    }
    return current;
}

void remove_at(int directory, const char* name, std::string_view entry) {
    struct stat status {};
    if (fstatat(directory, name, &status, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            return;
        }
        fail_entry(entry, std::string("cannot inspect ") + name + ": " + errno_text(errno));
    }
    if (S_ISDIR(status.st_mode)) {
        const int fd = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR* listing = fd >= 0 ? fdopendir(fd) : nullptr;
        if (listing == nullptr) {
            if (fd >= 0) {
                close(fd);
            }
            fail_entry(entry, std::string("cannot open ") + name + ": " + errno_text(errno));
        }
        std::unique_ptr<DIR, int (*)(DIR*)> owner(listing, closedir);
        while (const dirent* child = readdir(listing)) {
            if (std::strcmp(child->d_name, ".") != 0 && std::strcmp(child->d_name, "..") != 0) {
                remove_at(dirfd(listing), child->d_name, entry);
            }
        }
    }
    if (unlinkat(directory, name, S_ISDIR(status.st_mode) ? AT_REMOVEDIR : 0) != 0) {
        fail_entry(entry, std::string("cannot remove ") + name + ": " + errno_text(errno));
    }
}

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// `dir/.wh..wh..opq`: nothing of the lower layers shows through `dir`.
void make_opaque(const std::vector<std::string>& parts, std::string_view entry) {
    const UniqueFd directory = open_directory(parts, parts.size() - 1, entry);
    if (fsetxattr(directory.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
        fail_entry(entry, "cannot mark the directory opaque: " + errno_text(errno));
    }
}

// `dir/.wh.NAME`: NAME of the lower layers is deleted, which overlayfs spells
// as a 0/0 character device.
void make_whiteout(const std::vector<std::string>& parts, archive_entry* header,
                   std::string_view entry) {
    const std::string name = parts.back().substr(kWhiteoutPrefix.size());
    if (name.empty() || name == "." || name == "..") {
        fail_entry(entry, "invalid whiteout name");
    }
    const UniqueFd directory = open_directory(parts, parts.size() - 1, entry);
    remove_at(directory.get(), name.c_str(), entry);
    if (mknodat(directory.get(), name.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
        fail_entry(entry, "cannot create the whiteout: " + errno_text(errno));
    }
    if (fchownat(directory.get(), name.c_str(), static_cast<uid_t>(archive_entry_uid(header)),
                 static_cast<gid_t>(archive_entry_gid(header)), AT_SYMLINK_NOFOLLOW) != 0) {
        fail_entry(entry, "cannot chown the whiteout: " + errno_text(errno));
    }
}

struct Counts {
    std::uint64_t entries = 0;
    std::uint64_t skipped_devices = 0;
};

class Extractor {
public:
    Extractor(LayerStream& stream, bool allow_devices)
        : stream_(stream),
          allow_devices_(allow_devices),
          reader_(archive_read_new()),
          writer_(archive_write_disk_new()) {
        archive_read_support_format_tar(reader_.get());
        archive_read_support_format_empty(reader_.get());
        // The chroot already contains every path; these flags are the second
        // wall, and SECURE_SYMLINKS is what refuses "l -> /x" then "l/file".
        // No standard uid/gid lookup: layers carry numeric ids, and NSS
        // cannot work inside the chroot anyway.
        archive_write_disk_set_options(
            writer_.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                               ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                               ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                               ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
    }

    // Reads lazily from `stream_`, so this may run after chroot() as long as
    // the stream was opened before.
    Counts run() {
        if (archive_read_open(reader_.get(), &stream_, nullptr, LayerStream::read, nullptr) !=
            ARCHIVE_OK) {
            throw Failure("reading the layer: " + read_error());
        }
        std::string previous;
        for (;;) {
            archive_entry* header = nullptr;
            const int status = archive_read_next_header(reader_.get(), &header);
            if (status == ARCHIVE_EOF) {
                break;
            }
            if (status < ARCHIVE_WARN) {
                throw Failure("reading the layer" +
                              (previous.empty() ? "" : " after entry " + quoted(previous)) + ": " +
                              read_error());
            }
            ++counts_.entries;
            previous = entry_name(header);
            extract(header, previous);
        }
        stream_.drain();
        // Directory permissions and times are applied here, after their
        // content was written.
        if (archive_write_close(writer_.get()) != ARCHIVE_OK) {
            throw Failure("finishing the layer: " + archive_text(writer_.get()));
        }
        return counts_;
    }

private:
    static std::string entry_name(archive_entry* header) {
        if (const char* name = archive_entry_pathname(header)) {
            return name;
        }
        if (const char* name = archive_entry_pathname_utf8(header)) {
            return name;
        }
        return {};
    }

    std::string read_error() {
        return stream_.error().empty() ? archive_text(reader_.get()) : stream_.error();
    }

    void extract(archive_entry* header, const std::string& name) {
        if (name.empty()) {
            fail_entry(name, "the entry has no path");
        }
        const auto parts = contained_parts(name);
        if (!parts) {
            fail_entry(name, "path escapes the layer root");
        }
        if (parts->empty()) {
            // "./" or "/": the layer root, which this process cannot replace
            // and whose metadata belongs to whoever mounts the layer.
            if (archive_entry_filetype(header) != AE_IFDIR) {
                fail_entry(name, "only a directory may stand for the layer root");
            }
            return;
        }
        const std::string& base = parts->back();
        if (base.starts_with(kWhiteoutPrefix)) {
            if (base == kOpaqueMarker) {
                make_opaque(*parts, name);
            } else if (!base.starts_with(kWhiteoutMetaPrefix)) {
                make_whiteout(*parts, header, name);
            }
            // Any other ".wh..wh." name is AUFS bookkeeping, meaningless here.
            return;
        }
        if (parts->front().starts_with(kWhiteoutMetaPrefix)) {
            return;  // content of AUFS bookkeeping directories such as .wh..wh.plnk
        }
        const auto type = archive_entry_filetype(header);
        if ((type == AE_IFCHR || type == AE_IFBLK) && !allow_devices_) {
            ++counts_.skipped_devices;
            return;
        }
        if (const char* target = archive_entry_hardlink(header)) {
            const auto target_parts = contained_parts(target);
            if (!target_parts || target_parts->empty()) {
                fail_entry(name, "hard link target " + quoted(target) + " escapes the layer root");
            }
            archive_entry_copy_hardlink(header, join(*target_parts, target_parts->size()).c_str());
        }
        archive_entry_copy_pathname(header, join(*parts, parts->size()).c_str());

        if (archive_write_header(writer_.get(), header) != ARCHIVE_OK) {
            fail_write(name, writer_.get());
        }
        for (;;) {
            const void* block = nullptr;
            std::size_t size = 0;
            la_int64_t offset = 0;
            const int status = archive_read_data_block(reader_.get(), &block, &size, &offset);
            if (status == ARCHIVE_EOF) {
                break;
            }
            if (status != ARCHIVE_OK) {
                fail_entry(name, "reading its data: " + read_error());
            }
            if (archive_write_data_block(writer_.get(), block, size, offset) != ARCHIVE_OK) {
                fail_write(name, writer_.get());
            }
        }
        if (archive_write_finish_entry(writer_.get()) != ARCHIVE_OK) {
            fail_write(name, writer_.get());
        }
    }

    LayerStream& stream_;
    const bool allow_devices_;
    ReadArchive reader_;
    WriteArchive writer_;
    Counts counts_;
};

bool directory_is_empty(int fd) {
    const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR* listing = copy >= 0 ? fdopendir(copy) : nullptr;
    if (listing == nullptr) {
        if (copy >= 0) {
            close(copy);
        }
        throw Failure("cannot list the destination: " + errno_text(errno));
    }
    std::unique_ptr<DIR, int (*)(DIR*)> owner(listing, closedir);
    while (const dirent* child = readdir(listing)) {
        if (std::strcmp(child->d_name, ".") != 0 && std::strcmp(child->d_name, "..") != 0) {
            return false;
        }
    }
    return true;
}

int run(bool allow_devices, const char* archive_path, const char* destination) {
    // Everything that reads files of the host happens before chroot(): the
    // locale (so that UTF-8 names in pax headers convert without iconv's
    // modules), OpenSSL's configuration, the decompressor set-up.
    if (std::setlocale(LC_CTYPE, "C.UTF-8") == nullptr) {
        std::setlocale(LC_CTYPE, "");
    }
    const UniqueFd archive_fd(open(archive_path, O_RDONLY | O_CLOEXEC));
    if (archive_fd.get() < 0) {
        throw Failure(std::string("cannot open ") + archive_path + ": " + errno_text(errno));
    }
    const UniqueFd root(open(destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (root.get() < 0) {
        throw Failure(std::string("cannot open ") + destination + ": " + errno_text(errno));
    }
    if (!directory_is_empty(root.get())) {
        throw Failure(std::string(destination) + " is not empty");
    }
    LayerStream stream(archive_fd.get());
    Extractor extractor(stream, allow_devices);

    if (fchdir(root.get()) != 0 || chroot(".") != 0 || chdir("/") != 0) {
        throw Failure(std::string("cannot chroot into ") + destination + ": " + errno_text(errno));
    }
    // Parents created implicitly get 0755, as with Docker; explicit entries
    // get their own mode (ARCHIVE_EXTRACT_PERM).
    umask(022);

    const Counts counts = extractor.run();
    std::printf("{\"diff_id\":\"%s\",\"size\":%llu,\"entries\":%llu,\"skipped_devices\":%llu}\n",
                stream.diff_id().c_str(), static_cast<unsigned long long>(stream.size()),
                static_cast<unsigned long long>(counts.entries),
                static_cast<unsigned long long>(counts.skipped_devices));
    if (std::fflush(stdout) != 0) {
        throw Failure("cannot write the result: " + errno_text(errno));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    bool allow_devices = true;
    std::vector<const char*> operands;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--no-devices") == 0) {
            allow_devices = false;
        } else {
            operands.push_back(argv[i]);
        }
    }
    if (operands.size() != 2) {
        std::fprintf(stderr, "usage: berth-unpack [--no-devices] ARCHIVE DESTINATION\n");
        return 2;
    }
    try {
        return run(allow_devices, operands[0], operands[1]);
    } catch (const NoSpace& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return kExitNoSpace;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
}
