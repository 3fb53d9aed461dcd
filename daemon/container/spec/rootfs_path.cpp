#include "container/spec/rootfs_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <vector>

#include "container/spec/oci_spec.hpp"

namespace berth::daemon::container {

namespace {

// Linux gives up after 40 links in one lookup; so does this.
constexpr int kMaxSymlinks = 40;

std::deque<std::string> split(const std::string& path) {
    std::deque<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string::npos ? path.size() : slash;
        if (end > start) {
            parts.push_back(path.substr(start, end - start));
        }
        start = end + 1;
    }
    return parts;
}

std::string join(const std::string& rootfs, const std::vector<std::string>& parts) {
    std::string result = rootfs;
    while (result.size() > 1 && result.back() == '/') {
        result.pop_back();
    }
    for (const auto& part : parts) {
        result += "/" + part;
    }
    return result;
}

}  // namespace

std::string resolve_in_rootfs(const std::string& rootfs, const std::string& path) {
    std::vector<std::string> resolved;
    std::deque<std::string> pending = split(path);
    int links = 0;
    while (!pending.empty()) {
        const std::string part = pending.front();
        pending.pop_front();
        if (part == ".") {
            continue;
        }
        if (part == "..") {
            if (!resolved.empty()) {
                resolved.pop_back();
            }
            continue;
        }
        resolved.push_back(part);
        const std::string host = join(rootfs, resolved);
        struct stat info {};
        if (lstat(host.c_str(), &info) != 0 || !S_ISLNK(info.st_mode)) {
            continue;
        }
        if (++links > kMaxSymlinks) {
            throw SpecError("too many levels of symbolic links resolving " + path + " in " +
                            rootfs);
        }
        std::string target(static_cast<std::size_t>(info.st_size) + 1, '\0');
        const ssize_t length = readlink(host.c_str(), target.data(), target.size());
        if (length < 0) {
            continue;
        }
        target.resize(static_cast<std::size_t>(length));
        resolved.pop_back();
        if (!target.empty() && target.front() == '/') {
            resolved.clear();
        }
        auto link_parts = split(target);
        pending.insert(pending.begin(), link_parts.begin(), link_parts.end());
    }
    return join(rootfs, resolved);
}

}  // namespace berth::daemon::container
