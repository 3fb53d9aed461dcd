#include "berth/config/helper_binary.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "find_executable.hpp"

namespace berth::config {

namespace fs = std::filesystem;

std::string find_helper_binary(const std::string& name) {
    std::vector<fs::path> candidates;
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (!error) {
        candidates.push_back(self.parent_path() / name);
        candidates.push_back(
            (self.parent_path().parent_path() / "libexec/berth" / name).lexically_normal());
    }
    for (const char* dir : {"/usr/libexec/berth", "/usr/local/libexec/berth"}) {
        candidates.push_back(fs::path(dir) / name);
    }
    std::string searched;
    for (const auto& candidate : candidates) {
        struct stat status {};
        if (::stat(candidate.c_str(), &status) == 0 && S_ISREG(status.st_mode) &&
            ::access(candidate.c_str(), X_OK) == 0) {
            return candidate.string();
        }
        searched += (searched.empty() ? "" : ", ") + candidate.string();
    }
    if (auto found = find_executable(name); !found.empty()) {
        return found;
    }
    throw std::runtime_error(name + " not found (searched " + searched + ", $PATH)");
}

}  // namespace berth::config
