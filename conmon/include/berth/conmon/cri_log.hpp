// The container log in the CRI format kubelet reads:
//   <RFC3339Nano UTC> <stdout|stderr> <F|P> <text>\n
// Like conmon, every chunk read from the container is written at once: whole
// lines as F records, a trailing piece without newline as a P record (kubelet
// joins P records with the next record). A stream that ends after a P record
// gets an empty F record so that the last line is terminated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "berth/conmon/stream.hpp"
#include "berth/conmon/unique_fd.hpp"

namespace berth::conmon {

class CriLog {
public:
    // `path` lies beneath `directory` (relative to it, or absolute below
    // it) and is opened there as log_file_open.hpp describes: never through
    // a symbolic link, only a regular file.
    CriLog(std::string directory, std::string path, std::uint64_t size_max);

    // Opens (creating, appending) the log; false with errno and error() on
    // failure, when the file open before (if any) stays in use.
    bool open();
    // Log rotation: close and open the path again (a new file if it was moved).
    bool reopen() { return open(); }
    // Why the last open failed.
    const std::string& error() const { return error_; }

    void write(Stream stream, std::string_view data);
    // The stream reached EOF.
    void finish(Stream stream);
    void sync();

private:
    void append_record(Stream stream, char tag, std::string_view text, bool add_newline);
    void flush();
    bool& partial(Stream stream) { return partial_[stream == Stream::kStdout ? 0 : 1]; }

    std::string directory_;
    std::string path_;
    std::string error_;
    std::uint64_t size_max_;
    std::uint64_t size_ = 0;
    UniqueFd fd_;
    std::string pending_;
    char timestamp_[64] = {};
    bool partial_[2] = {false, false};
};

}  // namespace berth::conmon
