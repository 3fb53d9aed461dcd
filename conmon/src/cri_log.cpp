#include "berth/conmon/cri_log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "berth/conmon/log_file_open.hpp"

namespace berth::conmon {

namespace {

void format_timestamp(char (&buffer)[64]) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    tm utc{};
    ::gmtime_r(&now.tv_sec, &utc);
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, now.tv_nsec);
}

}  // namespace

CriLog::CriLog(std::string directory, std::string path, std::uint64_t size_max)
    : directory_(std::move(directory)), path_(std::move(path)), size_max_(size_max) {}

bool CriLog::open() {
    flush();
    UniqueFd fd = open_log_beneath(directory_, path_, error_);
    if (!fd) {
        return false;
    }
    struct stat info {};
    size_ = ::fstat(fd.get(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
    fd_ = std::move(fd);
    return true;
}

void CriLog::write(Stream stream, std::string_view data) {
    // One timestamp per chunk, as conmon: the reads are what the container
    // wrote at about the same moment.
    format_timestamp(timestamp_);
    while (!data.empty()) {
        const auto newline = data.find('\n');
        if (newline == std::string_view::npos) {
            append_record(stream, 'P', data, true);
            partial(stream) = true;
            break;
        }
        append_record(stream, 'F', data.substr(0, newline + 1), false);
        partial(stream) = false;
        data.remove_prefix(newline + 1);
    }
    flush();
}

void CriLog::finish(Stream stream) {
    if (partial(stream)) {
        format_timestamp(timestamp_);
        append_record(stream, 'F', "", true);
        partial(stream) = false;
        flush();
    }
}

void CriLog::sync() {
    flush();
    if (fd_) {
        ::fsync(fd_.get());
    }
}

void CriLog::append_record(Stream stream, char tag, std::string_view text, bool add_newline) {
    const char* name = stream_name(stream);
    // "<timestamp> <stream> <tag> <text>[\n]"
    const std::uint64_t length = std::char_traits<char>::length(timestamp_) + 1 +
                                 std::char_traits<char>::length(name) + 3 + text.size() +
                                 (add_newline ? 1 : 0);
    if (size_max_ > 0 && size_ + pending_.size() + length > size_max_) {
        // As conmon: a log that would grow past its limit starts over empty.
        flush();
        if (fd_ && ::ftruncate(fd_.get(), 0) == 0) {
            size_ = 0;
        }
    }
    pending_ += timestamp_;
    pending_ += ' ';
    pending_ += name;
    pending_ += ' ';
    pending_ += tag;
    pending_ += ' ';
    pending_ += text;
    if (add_newline) {
        pending_ += '\n';
    }
}

void CriLog::flush() {
    std::string_view data = pending_;
    while (fd_ && !data.empty()) {
        const ssize_t written = ::write(fd_.get(), data.data(), data.size());
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written <= 0) {
            break;  // a full disk loses log lines, never the container
        }
        data.remove_prefix(static_cast<size_t>(written));
        size_ += static_cast<std::uint64_t>(written);
    }
    pending_.clear();
}

}  // namespace berth::conmon
