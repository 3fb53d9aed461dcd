#include "container/spec/capabilities.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

#include "container/spec/oci_spec.hpp"

namespace berth::daemon::container {

namespace {

// Indexed by capability number (linux/capability.h), up to CAP_CHECKPOINT_RESTORE.
constexpr std::array<const char*, 41> kCapabilities = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

bool is_all(const std::string& name) {
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return upper == "ALL";
}

void add(std::vector<std::string>& set, const std::string& cap) {
    if (std::find(set.begin(), set.end(), cap) == set.end()) {
        set.push_back(cap);
    }
}

// The kernel's order keeps config.json stable whatever order the request used.
void sort_by_number(std::vector<std::string>& set) {
    auto number = [](const std::string& cap) {
        return std::find(kCapabilities.begin(), kCapabilities.end(), cap) - kCapabilities.begin();
    };
    std::sort(set.begin(), set.end(),
              [&](const auto& a, const auto& b) { return number(a) < number(b); });
}

}  // namespace

const std::vector<std::string>& default_capabilities() {
    static const std::vector<std::string> defaults = {
        "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_KILL",
    };
    return defaults;
}

std::string canonical_capability(const std::string& name, const std::string& field) {
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper.rfind("CAP_", 0) != 0) {
        upper = "CAP_" + upper;
    }
    if (std::find(kCapabilities.begin(), kCapabilities.end(), upper) == kCapabilities.end()) {
        throw SpecError(field + ": unknown capability \"" + name + "\"");
    }
    return upper;
}

std::vector<std::string> all_capabilities() {
    std::uint64_t bounding = ~std::uint64_t{0};
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("CapBnd:", 0) == 0) {
            std::istringstream(line.substr(7)) >> std::hex >> bounding;
        }
    }
    std::vector<std::string> all;
    for (std::size_t number = 0; number < kCapabilities.size(); ++number) {
        if ((bounding >> number) & 1U) {
            all.emplace_back(kCapabilities[number]);
        }
    }
    return all;
}

std::vector<std::string> container_capabilities(const std::vector<std::string>& configured,
                                                const std::vector<std::string>& add_caps,
                                                const std::vector<std::string>& drop_caps) {
    std::vector<std::string> set;
    for (const auto& cap : configured.empty() ? default_capabilities() : configured) {
        add(set, canonical_capability(cap, "runtime.default_capabilities"));
    }
    const auto has_all = [](const std::vector<std::string>& list) {
        return std::any_of(list.begin(), list.end(), is_all);
    };
    if (has_all(add_caps)) {
        for (const auto& cap : all_capabilities()) {
            add(set, cap);
        }
    }
    if (has_all(drop_caps)) {
        set.clear();
    }
    for (const auto& cap : add_caps) {
        if (!is_all(cap)) {
            add(set, canonical_capability(cap, "linux.security_context.capabilities.add"));
        }
    }
    for (const auto& cap : drop_caps) {
        if (!is_all(cap)) {
            const auto canonical =
                canonical_capability(cap, "linux.security_context.capabilities.drop");
            set.erase(std::remove(set.begin(), set.end(), canonical), set.end());
        }
    }
    sort_by_number(set);
    return set;
}

}  // namespace berth::daemon::container
