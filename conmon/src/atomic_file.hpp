// Files that readers must only ever see complete (pid files, the exit file):
// written to a temporary name in the same directory, then renamed into place.
// Not fsynced: they describe processes, which a machine crash ends too.
#pragma once

#include <string>
#include <string_view>

namespace berth::conmon {

bool write_file_atomically(const std::string& path, std::string_view content);

// Reads a small text file whole; empty string on error.
std::string read_small_file(const std::string& path);

}  // namespace berth::conmon
