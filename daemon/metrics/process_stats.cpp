#include "metrics/process_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace berth::daemon::metrics {

std::uint64_t resident_memory_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size_pages = 0;
    std::uint64_t resident_pages = 0;
    if (!(statm >> size_pages >> resident_pages))
        return 0;
    const long page_size = ::sysconf(_SC_PAGESIZE);
    return resident_pages * static_cast<std::uint64_t>(page_size > 0 ? page_size : 4096);
}

std::uint64_t open_fds() {
    std::error_code error;
    std::uint64_t count = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
         it.increment(error)) {
        ++count;
    }
    // The listing itself holds one descriptor open while it runs.
    return count > 0 ? count - 1 : 0;
}

}  // namespace berth::daemon::metrics
