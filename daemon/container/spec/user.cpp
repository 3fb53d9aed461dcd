#include "container/spec/user.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <optional>

#include "container/spec/oci_spec.hpp"
#include "container/spec/rootfs_path.hpp"

namespace berth::daemon::container {

namespace {

struct PasswdEntry {
    std::string name;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string home;
};

struct GroupEntry {
    std::string name;
    std::uint32_t gid = 0;
    std::vector<std::string> members;
};

std::optional<std::uint32_t> parse_id(const std::string& text) {
    std::uint32_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

std::vector<std::string> split_fields(const std::string& line, char separator) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t at = line.find(separator, start);
        fields.push_back(
            line.substr(start, at == std::string::npos ? std::string::npos : at - start));
        if (at == std::string::npos) {
            return fields;
        }
        start = at + 1;
    }
}

// Lines of an /etc file in the rootfs; a missing file has none, as an image
// without /etc/passwd (scratch images) is common and fine for numeric users.
std::vector<std::vector<std::string>> read_database(const std::string& rootfs,
                                                    const std::string& file) {
    std::vector<std::vector<std::string>> rows;
    // The image chose what is at this path: a FIFO would block the open for
    // ever and /dev/zero would never end. Only a regular file is read, and
    // only its first megabytes.
    constexpr std::size_t kLargestDatabase = 16 << 20;
    const std::string path = resolve_in_rootfs(rootfs, file);
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return rows;
    }
    struct stat info {};
    std::string content;
    if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
        char buffer[8192];
        ssize_t got = 0;
        while (content.size() < kLargestDatabase &&
               (got = ::read(fd, buffer, sizeof(buffer))) > 0) {
            content.append(buffer, static_cast<std::size_t>(got));
        }
    }
    ::close(fd);
    std::istringstream in(content);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.front() == '#') {
            continue;
        }
        rows.push_back(split_fields(line, ':'));
    }
    return rows;
}

std::vector<PasswdEntry> read_passwd(const std::string& rootfs) {
    std::vector<PasswdEntry> entries;
    for (const auto& fields : read_database(rootfs, "/etc/passwd")) {
        if (fields.size() < 4) {
            continue;
        }
        const auto uid = parse_id(fields[2]);
        const auto gid = parse_id(fields[3]);
        if (!uid || !gid) {
            continue;
        }
        entries.push_back({fields[0], *uid, *gid, fields.size() > 5 ? fields[5] : ""});
    }
    return entries;
}

std::vector<GroupEntry> read_group(const std::string& rootfs) {
    std::vector<GroupEntry> entries;
    for (const auto& fields : read_database(rootfs, "/etc/group")) {
        if (fields.size() < 3) {
            continue;
        }
        const auto gid = parse_id(fields[2]);
        if (!gid) {
            continue;
        }
        GroupEntry entry{fields[0], *gid, {}};
        if (fields.size() > 3 && !fields[3].empty()) {
            entry.members = split_fields(fields[3], ',');
        }
        entries.push_back(std::move(entry));
    }
    return entries;
}

void add_unique(std::vector<std::uint32_t>& gids, std::uint32_t gid) {
    if (std::find(gids.begin(), gids.end(), gid) == gids.end()) {
        gids.push_back(gid);
    }
}

}  // namespace

ResolvedUser resolve_user(const std::string& rootfs, const std::string& image_user,
                          const runtime::v1::LinuxContainerSecurityContext& context) {
    // A group alone would run the image's user (root, often) with a group
    // that was chosen for some other user: refused, as by CRI-O and
    // containerd.
    if (context.has_run_as_group() && !context.has_run_as_user() &&
        context.run_as_username().empty()) {
        throw SpecError(
            "linux.security_context.run_as_group is set without run_as_user or run_as_username");
    }
    std::string user_part = image_user;
    std::string group_part;
    if (const auto colon = image_user.find(':'); colon != std::string::npos) {
        user_part = image_user.substr(0, colon);
        group_part = image_user.substr(colon + 1);
    }
    // kubelet's runAsUser/runAsUserName win over the image, and then the
    // image's group no longer applies: it belonged to the image's user.
    if (!context.run_as_username().empty()) {
        user_part = context.run_as_username();
        group_part.clear();
    } else if (context.has_run_as_user()) {
        if (context.run_as_user().value() < 0 ||
            context.run_as_user().value() > std::numeric_limits<std::uint32_t>::max()) {
            throw SpecError("linux.security_context.run_as_user " +
                            std::to_string(context.run_as_user().value()) + " is out of range");
        }
        user_part = std::to_string(context.run_as_user().value());
        group_part.clear();
    }

    const auto passwd = read_passwd(rootfs);
    ResolvedUser user;
    const PasswdEntry* entry = nullptr;
    if (user_part.empty()) {
        user.uid = 0;
    } else if (const auto uid = parse_id(user_part)) {
        user.uid = *uid;
    } else {
        const auto found = std::find_if(passwd.begin(), passwd.end(),
                                        [&](const auto& e) { return e.name == user_part; });
        if (found == passwd.end()) {
            throw SpecError("user \"" + user_part + "\" is not in the image's /etc/passwd");
        }
        user.uid = found->uid;
    }
    const auto by_uid = std::find_if(passwd.begin(), passwd.end(),
                                     [&](const auto& e) { return e.uid == user.uid; });
    if (by_uid != passwd.end()) {
        entry = &*by_uid;
        user.gid = entry->gid;
        user.home = entry->home;
    }

    const auto groups = read_group(rootfs);
    if (context.has_run_as_group()) {
        if (context.run_as_group().value() < 0 ||
            context.run_as_group().value() > std::numeric_limits<std::uint32_t>::max()) {
            throw SpecError("linux.security_context.run_as_group " +
                            std::to_string(context.run_as_group().value()) + " is out of range");
        }
        user.gid = static_cast<std::uint32_t>(context.run_as_group().value());
    } else if (!group_part.empty()) {
        if (const auto gid = parse_id(group_part)) {
            user.gid = *gid;
        } else {
            const auto found = std::find_if(groups.begin(), groups.end(),
                                            [&](const auto& g) { return g.name == group_part; });
            if (found == groups.end()) {
                throw SpecError("group \"" + group_part + "\" is not in the image's /etc/group");
            }
            user.gid = found->gid;
        }
    }

    add_unique(user.additional_gids, user.gid);
    if (entry != nullptr &&
        context.supplemental_groups_policy() != runtime::v1::SupplementalGroupsPolicy::Strict) {
        for (const auto& group : groups) {
            if (std::find(group.members.begin(), group.members.end(), entry->name) !=
                group.members.end()) {
                add_unique(user.additional_gids, group.gid);
            }
        }
    }
    for (const auto gid : context.supplemental_groups()) {
        if (gid < 0 || gid > std::numeric_limits<std::uint32_t>::max()) {
            throw SpecError("linux.security_context.supplemental_groups: " + std::to_string(gid) +
                            " is out of range");
        }
        add_unique(user.additional_gids, static_cast<std::uint32_t>(gid));
    }
    return user;
}

}  // namespace berth::daemon::container
