// Container root filesystems: an overlayfs of an image's layers with a
// writable layer per container, under <storage>/containers/<id>/; and
// images mounted read-only into containers, the same way.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "berth/storage/atomic_file.hpp"
#include "berth/storage/image_storage.hpp"
#include "berth/storage/storage_error.hpp"

namespace berth::storage {
namespace fs = std::filesystem;
namespace {

// overlayfs takes its options as one string of at most a page; beyond about
// forty layers the plain paths do not fit, so each lower directory is then
// named through an fd held open for the mount call.
constexpr std::size_t kMountDataLimit = 4000;

struct FdCloser {
    std::vector<int> fds;
    ~FdCloser() {
        for (const int fd : fds)
            ::close(fd);
    }
};

void validate_container_id(const std::string& id) {
    const bool safe =
        !id.empty() && id.size() <= 128 && id != "." && id != ".." &&
        id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
            std::string::npos;
    if (!safe) {
        throw StorageError(ErrorKind::InvalidArgument, "invalid container id \"" + id + "\"");
    }
}

bool is_mount_point(const fs::path& path) {
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line;
    const std::string wanted = " " + path.string() + " ";
    while (std::getline(mountinfo, line)) {
        // Field 5 is the mount point; paths with spaces are escaped as \040,
        // which ours never contain.
        std::size_t at = 0;
        for (int field = 0; field < 4 && at != std::string::npos; ++field)
            at = line.find(' ', at + 1);
        if (at != std::string::npos && line.compare(at, wanted.size(), wanted) == 0)
            return true;
    }
    return false;
}

void mount_overlay(const std::vector<fs::path>& lower_top_first, const fs::path& upper,
                   const fs::path& work, const fs::path& target, bool read_only) {
    std::string lower;
    for (const auto& dir : lower_top_first) {
        lower += (lower.empty() ? "" : ":") + dir.string();
    }
    FdCloser held;
    std::string data =
        "lowerdir=" + lower + ",upperdir=" + upper.string() + ",workdir=" + work.string();
    if (data.size() > kMountDataLimit) {
        lower.clear();
        for (const auto& dir : lower_top_first) {
            const int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) {
                throw StorageError(ErrorKind::Internal,
                                   "opening layer " + dir.string() + ": " + std::strerror(errno));
            }
            held.fds.push_back(fd);
            lower += (lower.empty() ? "" : ":") + ("/proc/self/fd/" + std::to_string(fd));
        }
        data = "lowerdir=" + lower + ",upperdir=" + upper.string() + ",workdir=" + work.string();
        if (data.size() > kMountDataLimit) {
            throw StorageError(ErrorKind::FailedPrecondition,
                               "image has too many layers (" +
                                   std::to_string(lower_top_first.size()) +
                                   ") for one overlay mount");
        }
    }
    const unsigned long flags = read_only ? MS_RDONLY : 0;
    if (::mount("overlay", target.c_str(), "overlay", flags, data.c_str()) != 0) {
        throw StorageError(ErrorKind::Internal, "mounting the overlay at " + target.string() +
                                                    ": " + std::strerror(errno));
    }
}

nlohmann::json to_json(const ContainerRootfs& rootfs) {
    nlohmann::json json = {{"container_id", rootfs.container_id},
                           {"image_id", rootfs.image_id},
                           {"layers", rootfs.layers},
                           {"read_only", rootfs.read_only}};
    if (rootfs.idmap) {
        json["idmap"] = {{"userns", rootfs.idmap->userns_path},
                         {"root_uid", rootfs.idmap->root_uid},
                         {"root_gid", rootfs.idmap->root_gid}};
    }
    return json;
}

// <dir>/l/<n>: where layer n (top first) is bound idmapped. Short, so that
// the overlay's options stay within a page for as many layers as possible.
fs::path idmapped_layer_dir(const fs::path& dir) {
    return dir / "l";
}

// <dir>/v/<n>: the idmapped binds of the container's volumes.
fs::path idmapped_volume_dir(const fs::path& dir) {
    return dir / "v";
}

void unmount_all_in(const fs::path& parent) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(parent, error)) {
        unmount_idmapped(entry.path());
    }
}

// Unmounts every idmapped layer bind of a container. Throws while any stays
// mounted: deleting the directory then would delete the image's layer.
void unmount_idmapped_layers(const fs::path& dir) {
    unmount_all_in(idmapped_layer_dir(dir));
}

// Layers and volumes: everything idmapped that a container's directory holds.
void unmount_idmapped_binds(const fs::path& dir) {
    unmount_all_in(idmapped_volume_dir(dir));
    unmount_idmapped_layers(dir);
}

std::vector<fs::path> mount_idmapped_layers(const std::vector<fs::path>& lower_top_first,
                                            const fs::path& dir, const IdMap& idmap) {
    unmount_idmapped_layers(dir);  // what an interrupted attempt left
    std::vector<fs::path> mapped;
    try {
        for (std::size_t index = 0; index < lower_top_first.size(); ++index) {
            const fs::path target = idmapped_layer_dir(dir) / std::to_string(index);
            fs::create_directories(target);
            mount_idmapped(lower_top_first[index], target, idmap.userns_path, false);
            mapped.push_back(target);
        }
    } catch (...) {
        unmount_idmapped_layers(dir);
        throw;
    }
    return mapped;
}

// The container's root (host uid root_uid) must reach its overlay: every
// directory from the storage's parent down to the container's gets o+x.
void let_others_traverse(const fs::path& storage_base, const fs::path& dir) {
    for (const auto& path : {storage_base.parent_path(), storage_base, dir.parent_path(), dir}) {
        fs::permissions(path, fs::perms::others_exec, fs::perm_options::add);
    }
}

void chown_to(const fs::path& path, const IdMap& idmap) {
    if (::chown(path.c_str(), idmap.root_uid, idmap.root_gid) != 0) {
        throw StorageError(ErrorKind::Internal,
                           "chown " + path.string() + ": " + std::strerror(errno));
    }
}

}  // namespace

std::map<std::string, ContainerRootfs> ImageStorage::load_rootfs_records() const {
    std::map<std::string, ContainerRootfs> records;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(layout_.container_layers(), error)) {
        try {
            const auto json = nlohmann::json::parse(read_whole_file(entry.path() / "rootfs.json"));
            ContainerRootfs rootfs;
            rootfs.container_id = json.at("container_id").get<std::string>();
            rootfs.image_id = json.at("image_id").get<std::string>();
            rootfs.layers = json.at("layers").get<std::vector<std::string>>();
            rootfs.read_only = json.at("read_only").get<bool>();
            rootfs.mount_point = entry.path() / "merged";
            rootfs.upper = entry.path() / "upper";
            if (const auto idmap = json.find("idmap"); idmap != json.end()) {
                rootfs.idmap = IdMap{idmap->at("userns").get<std::string>(),
                                     idmap->at("root_uid").get<std::uint32_t>(),
                                     idmap->at("root_gid").get<std::uint32_t>()};
            }
            records.emplace(rootfs.container_id, std::move(rootfs));
        } catch (const std::exception& problem) {
            // No record means create_rootfs never finished: nothing uses it.
            spdlog::warn("storage: removing container layer {}: {}", entry.path().string(),
                         problem.what());
            ::umount2((entry.path() / "merged").c_str(), MNT_DETACH);
            try {
                unmount_idmapped_binds(entry.path());
            } catch (const std::exception& stuck) {
                spdlog::error("storage: keeping {}: {}", entry.path().string(), stuck.what());
                continue;
            }
            remove_tree(entry.path());
        }
    }
    return records;
}

ContainerRootfs ImageStorage::create_rootfs(const std::string& container_id,
                                            const std::string& image, bool read_only,
                                            const config::ImageConfig& image_config,
                                            const std::optional<IdMap>& idmap) {
    validate_container_id(container_id);
    ContainerRootfs rootfs;
    {
        std::lock_guard lock(mutex_);
        if (const auto existing = rootfs_.find(container_id); existing != rootfs_.end()) {
            rootfs = existing->second;
        } else {
            const auto record = find_locked(image, image_config);
            if (!record) {
                throw StorageError(ErrorKind::NotFound, "image \"" + image + "\" not found");
            }
            const fs::path dir = layout_.container_layers() / container_id;
            rootfs = {container_id,   record->id,    record->layers, read_only,
                      dir / "merged", dir / "upper", idmap};
            // Registered before anything is on disk, so that garbage
            // collection keeps the layers from this moment.
            rootfs_.emplace(container_id, rootfs);
        }
    }
    try {
        const fs::path dir = rootfs.mount_point.parent_path();
        fs::create_directories(rootfs.upper);
        fs::create_directories(dir / "work");
        fs::create_directories(rootfs.mount_point);
        if (!fs::exists(dir / "rootfs.json")) {
            write_file_atomically((dir / "rootfs.json").string(), to_json(rootfs).dump() + "\n");
        }
        if (rootfs.idmap) {
            let_others_traverse(layout_.base(), dir);
            chown_to(rootfs.upper, *rootfs.idmap);
            chown_to(dir / "work", *rootfs.idmap);
        }
        if (!is_mount_point(rootfs.mount_point)) {
            std::vector<fs::path> lower;
            for (auto it = rootfs.layers.rbegin(); it != rootfs.layers.rend(); ++it) {
                lower.push_back(layer_store_.diff(*it));
            }
            if (rootfs.idmap) {
                lower = mount_idmapped_layers(lower, dir, *rootfs.idmap);
            }
            mount_overlay(lower, rootfs.upper, dir / "work", rootfs.mount_point, rootfs.read_only);
        }
    } catch (const std::exception& error) {
        release_rootfs(container_id);
        if (dynamic_cast<const StorageError*>(&error) != nullptr)
            throw;
        throw StorageError(ErrorKind::Internal,
                           "creating the root filesystem of " + container_id + ": " + error.what());
    }
    return rootfs;
}

void ImageStorage::ensure_mounted(const std::string& container_id) {
    const auto existing = rootfs(container_id);
    if (!existing) {
        throw StorageError(ErrorKind::NotFound, "no root filesystem for container " + container_id);
    }
    create_rootfs(container_id, existing->image_id, existing->read_only, {}, existing->idmap);
    for (const auto& key : image_mount_keys(container_id)) {
        if (const auto mount = rootfs(key))
            create_rootfs(key, mount->image_id, true, {}, mount->idmap);
    }
}

// Image mounts are kept as read-only root filesystems under
// "<container id>.mount<index>": container ids have no dots, so the keys
// never meet a container's own.
ContainerRootfs ImageStorage::mount_image(const std::string& container_id, std::size_t index,
                                          const std::string& image,
                                          const config::ImageConfig& image_config,
                                          const std::optional<IdMap>& idmap) {
    validate_container_id(container_id);
    if (container_id.find('.') != std::string::npos) {
        throw StorageError(ErrorKind::InvalidArgument,
                           "invalid container id \"" + container_id + "\"");
    }
    return create_rootfs(container_id + ".mount" + std::to_string(index), image, true, image_config,
                         idmap);
}

std::vector<std::string> ImageStorage::image_mount_keys(const std::string& container_id) const {
    std::vector<std::string> keys;
    if (container_id.find('.') != std::string::npos)
        return keys;
    const std::string prefix = container_id + ".mount";
    std::lock_guard lock(mutex_);
    for (auto it = rootfs_.lower_bound(prefix);
         it != rootfs_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
        keys.push_back(it->first);
    return keys;
}

std::optional<ContainerRootfs> ImageStorage::rootfs(const std::string& container_id) const {
    std::lock_guard lock(mutex_);
    const auto found = rootfs_.find(container_id);
    if (found == rootfs_.end())
        return std::nullopt;
    return found->second;
}

fs::path ImageStorage::bind_idmapped_volume(const std::string& container_id, const fs::path& source,
                                            std::size_t index) {
    const auto existing = rootfs(container_id);
    if (!existing || !existing->idmap) {
        throw StorageError(ErrorKind::Internal,
                           "container " + container_id + " has no idmapped root filesystem");
    }
    const fs::path target =
        idmapped_volume_dir(existing->mount_point.parent_path()) / std::to_string(index);
    unmount_idmapped(target);
    fs::create_directories(target.parent_path());
    std::error_code error;
    if (fs::is_directory(source, error)) {
        fs::create_directories(target);
    } else if (!fs::exists(target, error)) {
        // A file is bound onto a file.
        std::ofstream{target};
    }
    mount_idmapped(source, target, existing->idmap->userns_path, true);
    return target;
}

void ImageStorage::release_rootfs(const std::string& container_id) {
    validate_container_id(container_id);
    for (const auto& key : image_mount_keys(container_id))
        release_rootfs(key);
    const fs::path dir = layout_.container_layers() / container_id;
    const fs::path merged = dir / "merged";
    if (::umount2(merged.c_str(), 0) != 0 && errno == EBUSY) {
        // Something still has a file open in it (a process being killed):
        // detach now, the kernel frees it when the last user goes.
        spdlog::warn("storage: {} busy, detaching it", merged.string());
        ::umount2(merged.c_str(), MNT_DETACH);
    }
    if (is_mount_point(merged)) {
        throw StorageError(ErrorKind::Internal, "cannot unmount " + merged.string());
    }
    unmount_idmapped_binds(dir);
    // The record goes first: a crash halfway through deleting leaves a
    // directory without rootfs.json, which open() removes.
    std::error_code ignored;
    fs::remove(dir / "rootfs.json", ignored);
    remove_tree(dir);
    std::lock_guard lock(mutex_);
    rootfs_.erase(container_id);
}

}  // namespace berth::storage
