#include "find_executable.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace berth::config {

std::string find_executable(const std::string& name) {
    std::string search;
    if (const char* path = std::getenv("PATH")) {
        search = path;
    }
    search += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    std::stringstream dirs(search);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty() || dir.front() != '/') {
            continue;
        }
        std::string candidate = dir + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return {};
}

}  // namespace berth::config
