// Durable metadata writes: a reader (or a daemon restarted after a crash)
// sees either the old content or the new, never a torn file.
#pragma once

#include <string>

namespace berth::storage {

// Writes `content` to a temporary file beside `path`, fsyncs it, renames it
// over `path` and, when `path` did not exist before, fsyncs the directory. Throws std::system_error
// naming the step that failed; the temporary file is removed on failure.
void write_file_atomically(const std::string& path, const std::string& content, int mode = 0600);

// The whole content of a file; throws std::system_error when it cannot be read.
std::string read_whole_file(const std::string& path);

}  // namespace berth::storage
