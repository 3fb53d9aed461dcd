#include "journal_stream.hpp"

#include <sys/stat.h>

#include <charconv>
#include <cstdint>
#include <cstring>

namespace berth::daemon {

bool is_journal_stream(int fd, const char* journal_stream) {
    if (journal_stream == nullptr) {
        return false;
    }
    const char* const end = journal_stream + std::strlen(journal_stream);
    std::uintmax_t device = 0;
    std::uintmax_t inode = 0;
    auto [colon, device_error] = std::from_chars(journal_stream, end, device);
    if (device_error != std::errc() || colon == journal_stream || colon == end || *colon != ':') {
        return false;
    }
    auto [rest, inode_error] = std::from_chars(colon + 1, end, inode);
    if (inode_error != std::errc() || rest == colon + 1 || rest != end) {
        return false;
    }
    struct stat status {};
    if (fstat(fd, &status) != 0) {
        return false;
    }
    return static_cast<std::uintmax_t>(status.st_dev) == device &&
           static_cast<std::uintmax_t>(status.st_ino) == inode;
}

}  // namespace berth::daemon
