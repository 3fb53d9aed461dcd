#include "sandbox/pod_resources.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <system_error>

#include "status_error.hpp"
#include "unique_fd.hpp"

namespace berth::daemon::sandbox {

namespace fs = std::filesystem;
namespace v1 = runtime::v1;

namespace {

constexpr std::int64_t kDefaultCpuPeriod = 100000;  // the kernel's, in µs

// One write(2), so that the kernel's refusal (EINVAL for a limit below
// current usage, ...) comes back as its errno.
void write_value(const fs::path& file, const std::string& value) {
    const UniqueFd fd(::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd || ::write(fd.get(), value.data(), value.size()) < 0) {
        throw std::system_error(errno, std::generic_category(),
                                "writing \"" + value + "\" to " + file.string());
    }
}

std::string read_first_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return line;
}

bool valid_cpu_list(const std::string& text) {
    static const std::regex list(R"(^\d+(-\d+)?(,\d+(-\d+)?)*$)");
    return std::regex_match(text, list);
}

// The files of one request, and whether some hierarchy took each.
class Writer {
public:
    explicit Writer(std::vector<std::string>& written) : written_(written) {}

    // Writes `value` to dir/name when the file exists; remembers `field` as
    // satisfied.
    bool write(const fs::path& dir, const std::string& name, const std::string& value,
               const std::string& field) {
        std::error_code ignored;
        if (!fs::exists(dir / name, ignored))
            return false;
        write_value(dir / name, value);
        written_.push_back((dir / name).string());
        mark(field);
        return true;
    }
    void mark(const std::string& field) { satisfied_[field] = true; }
    void want(const std::string& field, const std::string& files) {
        satisfied_.emplace(field, false);
        files_.emplace(field, files);
    }
    // FAILED_PRECONDITION for the first field no hierarchy took.
    void require_all(const std::string& cgroup_path) const {
        for (const auto& [field, done] : satisfied_) {
            if (!done) {
                throw failed_precondition("cannot apply " + field + " to the pod cgroup " +
                                          cgroup_path + ": no hierarchy has " + files_.at(field));
            }
        }
    }

private:
    std::vector<std::string>& written_;
    std::map<std::string, bool> satisfied_;
    std::map<std::string, std::string> files_;
};

void apply_v1(const fs::path& dir, const v1::LinuxContainerResources& r, Writer& out) {
    if (r.cpu_shares() > 0)
        out.write(dir, "cpu.shares", std::to_string(r.cpu_shares()), "cpu_shares");
    // The period first: a quota is checked against the period in force.
    if (r.cpu_period() > 0)
        out.write(dir, "cpu.cfs_period_us", std::to_string(r.cpu_period()), "cpu_period");
    if (r.cpu_quota() != 0) {
        out.write(dir, "cpu.cfs_quota_us", std::to_string(r.cpu_quota() < 0 ? -1 : r.cpu_quota()),
                  "cpu_quota");
    }
    if (!r.cpuset_cpus().empty())
        out.write(dir, "cpuset.cpus", r.cpuset_cpus(), "cpuset_cpus");
    if (!r.cpuset_mems().empty())
        out.write(dir, "cpuset.mems", r.cpuset_mems(), "cpuset_mems");
    if (r.memory_limit_in_bytes() > 0) {
        const std::string limit = std::to_string(r.memory_limit_in_bytes());
        const std::string swap = r.memory_swap_limit_in_bytes() > 0
                                     ? std::to_string(r.memory_swap_limit_in_bytes())
                                 : r.memory_swap_limit_in_bytes() < 0 ? "-1"
                                                                      : limit;
        std::error_code ignored;
        const bool has_swap = fs::exists(dir / "memory.memsw.limit_in_bytes", ignored);
        try {
            if (out.write(dir, "memory.limit_in_bytes", limit, "memory_limit_in_bytes") &&
                has_swap) {
                out.write(dir, "memory.memsw.limit_in_bytes", swap, "memory_swap_limit_in_bytes");
            }
        } catch (const std::system_error& error) {
            // memory+swap may never be below memory: raising both needs the
            // swap limit raised first.
            if (error.code().value() != EINVAL || !has_swap)
                throw;
            out.write(dir, "memory.memsw.limit_in_bytes", swap, "memory_swap_limit_in_bytes");
            out.write(dir, "memory.limit_in_bytes", limit, "memory_limit_in_bytes");
        }
    }
    for (const auto& hugepage : r.hugepage_limits()) {
        out.write(dir, "hugetlb." + hugepage.page_size() + ".limit_in_bytes",
                  std::to_string(hugepage.limit()),
                  "hugepage_limits[" + hugepage.page_size() + "]");
    }
}

void apply_v2(const fs::path& dir, const v1::LinuxContainerResources& r, Writer& out) {
    if (r.cpu_shares() > 0) {
        out.write(
            dir, "cpu.weight",
            std::to_string(cpu_weight_from_shares(static_cast<std::uint64_t>(r.cpu_shares()))),
            "cpu_shares");
    }
    if (r.cpu_quota() != 0 || r.cpu_period() > 0) {
        // cpu.max holds both; what the request leaves out keeps its value.
        std::string quota = "max";
        std::string period = std::to_string(kDefaultCpuPeriod);
        std::istringstream current(read_first_line(dir / "cpu.max"));
        current >> quota >> period;
        if (r.cpu_quota() != 0)
            quota = r.cpu_quota() < 0 ? "max" : std::to_string(r.cpu_quota());
        if (r.cpu_period() > 0)
            period = std::to_string(r.cpu_period());
        if (out.write(dir, "cpu.max", quota + " " + period,
                      r.cpu_quota() != 0 ? "cpu_quota" : "cpu_period") &&
            r.cpu_period() > 0) {
            out.mark("cpu_period");
        }
    }
    if (!r.cpuset_cpus().empty())
        out.write(dir, "cpuset.cpus", r.cpuset_cpus(), "cpuset_cpus");
    if (!r.cpuset_mems().empty())
        out.write(dir, "cpuset.mems", r.cpuset_mems(), "cpuset_mems");
    if (r.memory_limit_in_bytes() > 0) {
        if (out.write(dir, "memory.max", std::to_string(r.memory_limit_in_bytes()),
                      "memory_limit_in_bytes")) {
            // v2 limits swap alone, not memory+swap as v1 does.
            const std::int64_t swap = r.memory_swap_limit_in_bytes();
            const std::string swap_only =
                swap < 0 ? "max"
                         : std::to_string(std::max<std::int64_t>(
                               swap > 0 ? swap - r.memory_limit_in_bytes() : 0, 0));
            out.write(dir, "memory.swap.max", swap_only, "memory_swap_limit_in_bytes");
        }
    }
    for (const auto& hugepage : r.hugepage_limits()) {
        out.write(dir, "hugetlb." + hugepage.page_size() + ".max", std::to_string(hugepage.limit()),
                  "hugepage_limits[" + hugepage.page_size() + "]");
    }
    for (const auto& [key, value] : r.unified())
        out.write(dir, key, value, "unified[" + key + "]");
}

}  // namespace

std::uint64_t cpu_weight_from_shares(std::uint64_t shares) {
    if (shares == 0)
        return 0;
    shares = std::clamp<std::uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

void validate_linux_resources(const v1::LinuxContainerResources& r, const std::string& what) {
    auto bad = [&](const std::string& field, const std::string& problem) {
        return invalid_argument(what + "." + field + " " + problem);
    };
    if (r.cpu_shares() != 0 && (r.cpu_shares() < 2 || r.cpu_shares() > 262144))
        throw bad("cpu_shares", std::to_string(r.cpu_shares()) + " is not between 2 and 262144");
    if (r.cpu_period() != 0 && (r.cpu_period() < 1000 || r.cpu_period() > 1000000)) {
        throw bad("cpu_period",
                  std::to_string(r.cpu_period()) + " is not between 1000 and 1000000 microseconds");
    }
    if (r.cpu_quota() != 0 && r.cpu_quota() != -1 && r.cpu_quota() < 1000) {
        throw bad("cpu_quota",
                  std::to_string(r.cpu_quota()) + " is below 1000 microseconds (-1: no limit)");
    }
    if (r.memory_limit_in_bytes() < 0)
        throw bad("memory_limit_in_bytes", "must not be negative");
    if (r.memory_swap_limit_in_bytes() < -1) {
        throw bad("memory_swap_limit_in_bytes", "must be -1 (no limit), 0 (as memory) or a size");
    }
    if (r.memory_swap_limit_in_bytes() > 0 && r.memory_limit_in_bytes() > 0 &&
        r.memory_swap_limit_in_bytes() < r.memory_limit_in_bytes()) {
        throw bad("memory_swap_limit_in_bytes",
                  "is below memory_limit_in_bytes (it counts memory and swap together)");
    }
    if (!r.cpuset_cpus().empty() && !valid_cpu_list(r.cpuset_cpus()))
        throw bad("cpuset_cpus", quoted_value(r.cpuset_cpus()) + " is not a CPU list such as 0-3,6");
    if (!r.cpuset_mems().empty() && !valid_cpu_list(r.cpuset_mems()))
        throw bad("cpuset_mems", quoted_value(r.cpuset_mems()) + " is not a node list such as 0-1");
    static const std::regex page_size(R"(^[0-9]+[KMG]B$)");
    for (const auto& hugepage : r.hugepage_limits()) {
        if (!std::regex_match(hugepage.page_size(), page_size)) {
            throw bad("hugepage_limits.page_size", quoted_value(hugepage.page_size()) +
                                                       " is not a page size such as 2MB or 1GB");
        }
    }
    // A key names a file in the pod's cgroup directory and nothing else.
    static const std::regex unified_key(R"(^[a-z0-9_]+\.[a-z0-9_.]+$)");
    for (const auto& [key, value] : r.unified()) {
        if (!std::regex_match(key, unified_key) || key.find("..") != std::string::npos)
            throw bad("unified", "key " + quoted_value(key) + " is not a cgroup v2 file name");
        if (key.rfind("cgroup.", 0) == 0)
            throw bad("unified", "key " + quoted_value(key) + " is a cgroup core file, not a limit");
        if (value.find('\n') != std::string::npos || value.find('\0') != std::string::npos)
            throw bad("unified", "value of " + quoted_value(key) + " holds a newline or NUL");
    }
}

v1::LinuxContainerResources pod_level_resources(const v1::LinuxContainerResources& overhead,
                                                const v1::LinuxContainerResources& resources) {
    validate_linux_resources(overhead, "overhead");
    validate_linux_resources(resources, "resources");
    v1::LinuxContainerResources total = resources;
    total.set_oom_score_adj(0);  // a process setting, not a cgroup one
    if (resources.cpu_shares() > 0 && overhead.cpu_shares() > 0) {
        total.set_cpu_shares(
            std::min<std::int64_t>(resources.cpu_shares() + overhead.cpu_shares(), 262144));
    }
    if (resources.cpu_quota() > 0 && overhead.cpu_quota() > 0) {
        // The overhead's quota, scaled to the period the pod gets.
        const std::int64_t period =
            resources.cpu_period() > 0 ? resources.cpu_period() : kDefaultCpuPeriod;
        const std::int64_t overhead_period =
            overhead.cpu_period() > 0 ? overhead.cpu_period() : kDefaultCpuPeriod;
        total.set_cpu_quota(resources.cpu_quota() +
                            overhead.cpu_quota() * period / overhead_period);
    }
    if (resources.memory_limit_in_bytes() > 0 && overhead.memory_limit_in_bytes() > 0) {
        total.set_memory_limit_in_bytes(resources.memory_limit_in_bytes() +
                                        overhead.memory_limit_in_bytes());
        if (resources.memory_swap_limit_in_bytes() > 0) {
            total.set_memory_swap_limit_in_bytes(resources.memory_swap_limit_in_bytes() +
                                                 overhead.memory_limit_in_bytes());
        }
    }
    for (const auto& extra : overhead.hugepage_limits()) {
        auto* limits = total.mutable_hugepage_limits();
        auto same = std::find_if(limits->begin(), limits->end(), [&](const v1::HugepageLimit& l) {
            return l.page_size() == extra.page_size();
        });
        // Only a size the containers limit has a sum; the rest stays open.
        if (same != limits->end() && same->limit() > 0)
            same->set_limit(same->limit() + extra.limit());
    }
    return total;
}

std::vector<std::string> apply_pod_resources(const std::string& cgroup_path,
                                             const v1::LinuxContainerResources& resources,
                                             const std::vector<std::string>& hierarchies) {
    if (cgroup_path.empty() || cgroup_path.front() != '/') {
        throw failed_precondition(
            "the pod has no cgroup of its own (it was run without linux.cgroup_parent)");
    }
    std::vector<std::string> written;
    Writer out(written);
    if (resources.cpu_shares() > 0)
        out.want("cpu_shares", "cpu.shares or cpu.weight");
    if (resources.cpu_period() > 0)
        out.want("cpu_period", "cpu.cfs_period_us or cpu.max");
    if (resources.cpu_quota() != 0)
        out.want("cpu_quota", "cpu.cfs_quota_us or cpu.max");
    if (!resources.cpuset_cpus().empty())
        out.want("cpuset_cpus", "cpuset.cpus");
    if (!resources.cpuset_mems().empty())
        out.want("cpuset_mems", "cpuset.mems");
    if (resources.memory_limit_in_bytes() > 0)
        out.want("memory_limit_in_bytes", "memory.limit_in_bytes or memory.max");
    for (const auto& hugepage : resources.hugepage_limits()) {
        out.want("hugepage_limits[" + hugepage.page_size() + "]",
                 "hugetlb." + hugepage.page_size() + ".limit_in_bytes or .max");
    }
    for (const auto& [key, value] : resources.unified())
        out.want("unified[" + key + "]", key + " (unified keys need cgroup v2)");

    bool found = false;
    for (const auto& root : hierarchies) {
        const fs::path dir = fs::path(root) / cgroup_path.substr(1);
        std::error_code ignored;
        if (!fs::is_directory(dir, ignored))
            continue;
        found = true;
        try {
            // Only a v2 hierarchy has cgroup.controllers.
            if (fs::exists(dir / "cgroup.controllers", ignored)) {
                apply_v2(dir, resources, out);
            } else {
                apply_v1(dir, resources, out);
            }
        } catch (const std::system_error& error) {
            // A valid value the kernel refuses now (a memory limit below what
            // the pod uses, a cpuset outside its parent's): the pod's state,
            // not the request, is in the way.
            throw failed_precondition("the kernel refused a limit for the pod cgroup " +
                                      cgroup_path + ": " + error.what());
        }
    }
    if (!found)
        throw failed_precondition("the pod cgroup " + cgroup_path + " does not exist");
    out.require_all(cgroup_path);
    return written;
}

}  // namespace berth::daemon::sandbox
