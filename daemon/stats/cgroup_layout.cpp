#include "stats/cgroup_layout.hpp"

#include <set>
#include <sstream>
#include <vector>

#include "stats/cgroup_files.hpp"

namespace berth::daemon::stats {

namespace {

// mountinfo writes space, tab, newline and backslash in paths as \ooo.
std::string unescape_octal(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size()) {
            const std::string digits = text.substr(i + 1, 3);
            if (digits.find_first_not_of("01234567") == std::string::npos) {
                out += static_cast<char>(std::stoi(digits, nullptr, 8));
                i += 3;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) {
        parts.push_back(part);
    }
    return parts;
}

std::string join_path(const std::string& root, const std::string& cgroup) {
    if (cgroup.empty() || cgroup == "/") {
        return root;
    }
    return cgroup.front() == '/' ? root + cgroup : root + "/" + cgroup;
}

}  // namespace

std::string CgroupLayout::v1_dir(const std::string& controller, const std::string& cgroup) const {
    const auto found = v1_roots.find(controller);
    return found == v1_roots.end() ? std::string() : join_path(found->second, cgroup);
}

std::string CgroupLayout::v2_dir(const std::string& cgroup) const {
    return unified_root.empty() ? std::string() : join_path(unified_root, cgroup);
}

CgroupLayout parse_cgroup_layout(const std::string& mountinfo) {
    // Only the controllers that stats read; the others do not matter here.
    static const std::set<std::string> wanted = {"cpu", "cpuacct", "memory", "pids"};
    CgroupLayout layout;
    std::istringstream lines(mountinfo);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::vector<std::string> before;  // up to the " - " separator
        std::string field;
        while (fields >> field && field != "-") {
            before.push_back(field);
        }
        std::string fs_type, source, super_options;
        if (!(fields >> fs_type >> source >> super_options) || before.size() < 5) {
            continue;
        }
        const std::string mount_point = unescape_octal(before[4]);
        if (fs_type == "cgroup2") {
            if (layout.unified_root.empty()) {
                layout.unified_root = mount_point;
            }
        } else if (fs_type == "cgroup") {
            for (const auto& option : split(super_options, ',')) {
                if (wanted.count(option) != 0) {
                    layout.v1_roots.emplace(option, mount_point);
                }
            }
        }
    }
    // Hybrid hosts keep the controllers on v1 and an empty v2 tree beside
    // them; only a host with none of them on v1 is read as v2.
    layout.unified = !layout.unified_root.empty() && layout.v1_roots.empty();
    return layout;
}

const CgroupLayout& host_cgroup_layout() {
    static const CgroupLayout layout =
        parse_cgroup_layout(read_small_file("/proc/self/mountinfo", 4 * 1024 * 1024).value_or(""));
    return layout;
}

}  // namespace berth::daemon::stats
