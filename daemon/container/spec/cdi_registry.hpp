// The CDI devices that the configured spec directories define, by fully
// qualified name. The directories are listed afresh for each container that
// asks for a device: vendors' tools write and replace spec files at any time
// (device plugins generate them under /var/run/cdi). A file is parsed again
// only when it changed (inode, size, modification time).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "container/spec/cdi_spec.hpp"

namespace berth::daemon::container::cdi {

class Registry {
public:
    // Every *.json, *.yaml and *.yml file directly in `dirs`; a device in a
    // later directory replaces one of the same name in an earlier one. Files
    // that cannot be read, parsed or validated are skipped, as are devices
    // defined by two files of one directory; each such problem is logged
    // once (per file content) and listed in skipped().
    static Registry load(const std::vector<std::string>& dirs);

    struct Entry {
        std::shared_ptr<const Spec> spec;
        const Device* device = nullptr;
    };
    // The device "vendor.com/class=name"; nullptr when no spec defines it.
    const Entry* find(const std::string& qualified) const;

    std::size_t size() const { return devices_.size(); }
    const std::vector<std::string>& skipped() const { return skipped_; }

private:
    std::map<std::string, Entry> devices_;
    std::vector<std::string> skipped_;
};

}  // namespace berth::daemon::container::cdi
