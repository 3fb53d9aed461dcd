// Whether crun can run containers on this host, after making it so where a
// test can. crun 1.8 refuses cgroup v1 "hybrid" hosts while the hugetlb
// controller sits on the v2 hierarchy; a v1 hugetlb hierarchy fixes that
// (MACHINE.md).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "child_process.hpp"

namespace berth::test {

// False with the reason in `why` when crun cannot be used here.
inline bool prepare_host_for_crun(std::string& why) {
    if (::access("/usr/bin/crun", X_OK) != 0) {
        why = "crun is not installed";
        return false;
    }
    if (read_file("/proc/self/mountinfo").find(" /sys/fs/cgroup/hugetlb ") != std::string::npos ||
        !std::filesystem::exists("/sys/fs/cgroup/memory")) {
        return true;
    }
    const auto mounted = run_command(
        "mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup "
        "/sys/fs/cgroup/hugetlb");
    if (mounted.exit_code != 0) {
        why = "cannot mount a v1 hugetlb hierarchy for crun: " + mounted.output;
        return false;
    }
    return true;
}

}  // namespace berth::test
