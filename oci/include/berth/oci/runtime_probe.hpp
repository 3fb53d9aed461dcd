// Whether an OCI runtime binary works on this host, found by letting it
// create a real container: runtimes refuse some hosts only at that point
// (crun 1.8 on a cgroup v1 "hybrid" host whose hugetlb controller sits on
// the v2 hierarchy), and some apply mount options without listing them
// anywhere (crun 1.8 has no `features` command, yet applies `rro`, while it
// silently ignores options it does not know).
#pragma once

#include <string>

namespace berth::oci {

struct RuntimeProbe {
    bool usable = false;
    std::string why;  // the runtime's complaint when not usable
    // A submount of an `rbind,ro,rro` mount was read-only in the container.
    bool recursive_read_only = false;
};

// Creates (never starts) a container of `init_binary` in a cgroup of its own,
// with one `rro` bind mount over a tmpfs submount, inspects its mounts from
// outside and deletes it. Everything lives under `work_directory`, which is
// removed afterwards. Takes a few tens of milliseconds.
RuntimeProbe probe_runtime(const std::string& runtime_path, const std::string& work_directory,
                           const std::string& init_binary);

// probe_runtime() once per runtime binary for the life of the process.
RuntimeProbe probe_runtime_once(const std::string& runtime_path, const std::string& work_directory,
                                const std::string& init_binary);

}  // namespace berth::oci
