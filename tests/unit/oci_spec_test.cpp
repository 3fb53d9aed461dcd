// The OCI spec builder: CRI container configs in, config.json subtrees out.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "container/spec/capabilities.hpp"
#include "container/spec/oci_spec.hpp"
#include "container/spec/rootfs_path.hpp"
#include "container/spec/seccomp.hpp"
#include "temp_dir.hpp"

namespace berth::daemon::container {
namespace {

namespace fs = std::filesystem;
namespace v1 = runtime::v1;
using nlohmann::json;

// One container request with everything around it; each test changes what it
// is about and builds.
struct Fixture {
    test::TempDir dir;
    v1::ContainerConfig container;
    v1::PodSandboxConfig pod;
    sandbox::Sandbox sandbox;
    storage::ImageConfig image;
    config::Config config;
    std::string target_pid_ns;
    bool recursive_read_only_mounts = false;

    Fixture() {
        dir.write("rootfs/etc/passwd",
                  "root:x:0:0:root:/root:/bin/sh\n"
                  "# a comment\n"
                  "app:x:1000:1001:App:/home/app:/bin/sh\n"
                  "nobody:x:65534:65534::/nonexistent:/bin/false\n");
        dir.write("rootfs/etc/group",
                  "root:x:0:\n"
                  "appgroup:x:1001:\n"
                  "staff:x:50:app,other\n"
                  "audio:x:29:other,app\n"
                  "video:x:44:other\n");
        fs::create_directories(dir.path() / "container");
        container.mutable_metadata()->set_name("web");
        container.mutable_image()->set_image("docker.io/library/busybox:latest");
        container.mutable_linux()->mutable_resources();
        pod.mutable_metadata()->set_name("pod-a");
        pod.mutable_metadata()->set_namespace_("ns-a");
        pod.mutable_metadata()->set_uid("uid-a");
        pod.set_hostname("pod-a-host");
        sandbox.id = std::string(64, 'a');
        sandbox.netns_path = "/run/berth/netns/" + sandbox.id;
        sandbox.utsns_path = "/run/berth/utsns/" + sandbox.id;
        sandbox.ipcns_path = "/run/berth/ipcns/" + sandbox.id;
        sandbox.pidns_path = "/run/berth/pidns/" + sandbox.id;
        sandbox.shm_path = "/run/berth/shm/" + sandbox.id;
        sandbox.resolv_conf_path = "/var/lib/berth/sandboxes/a/resolv.conf";
        sandbox.hostname_path = "/var/lib/berth/sandboxes/a/hostname";
        sandbox.hosts_path = "/var/lib/berth/sandboxes/a/hosts";
        image.entrypoint = {"/entry"};
        image.cmd = {"serve", "--port=80"};
        image.env = {"PATH=/image/bin", "LANG=C"};
    }

    std::string rootfs() const { return dir / "rootfs"; }

    v1::LinuxContainerSecurityContext& context() {
        return *container.mutable_linux()->mutable_security_context();
    }

    SpecInputs inputs() const {
        SpecInputs in;
        in.container_id = std::string(64, 'c');
        in.container = &container;
        in.pod = &pod;
        in.sandbox = &sandbox;
        in.image = &image;
        in.image_name = "docker.io/library/busybox:latest";
        in.image_ref = "sha256:" + std::string(64, 'f');
        in.rootfs = rootfs();
        in.container_dir = dir / "container";
        in.config = &config;
        in.log_path = "/var/log/pods/x/web/0.log";
        in.target_pid_ns = target_pid_ns;
        in.recursive_read_only_mounts = recursive_read_only_mounts;
        return in;
    }

    json build() const { return build_oci_spec(inputs()); }
};

const json* find_mount(const json& spec, const std::string& destination) {
    for (const auto& m : spec["mounts"]) {
        if (m["destination"] == destination) {
            return &m;
        }
    }
    return nullptr;
}

bool has_option(const json& mount, const std::string& option) {
    return std::find(mount["options"].begin(), mount["options"].end(), option) !=
           mount["options"].end();
}

std::vector<std::string> strings(const json& array) {
    return array.get<std::vector<std::string>>();
}

// --- process -----------------------------------------------------------------

struct ArgsCase {
    const char* name;
    std::vector<std::string> command, args, expected;
};

TEST(OciSpecProcess, CommandAndArgsFollowKubernetesRules) {
    const std::vector<ArgsCase> cases = {
        {"neither", {}, {}, {"/entry", "serve", "--port=80"}},
        {"command only", {"/bin/sh"}, {}, {"/bin/sh"}},
        {"args only", {}, {"-c", "ls"}, {"/entry", "-c", "ls"}},
        {"both", {"/bin/sh"}, {"-c", "ls"}, {"/bin/sh", "-c", "ls"}},
    };
    for (const auto& c : cases) {
        Fixture f;
        for (const auto& s : c.command) {
            f.container.add_command(s);
        }
        for (const auto& s : c.args) {
            f.container.add_args(s);
        }
        EXPECT_EQ(strings(f.build()["process"]["args"]), c.expected) << c.name;
    }
}

TEST(OciSpecProcess, NoCommandAnywhereIsAnError) {
    Fixture f;
    f.image.entrypoint.clear();
    f.image.cmd.clear();
    EXPECT_THROW(f.build(), SpecError);
}

TEST(OciSpecProcess, EnvMergesImageAndRequestByKey) {
    Fixture f;
    auto* kv = f.container.add_envs();
    kv->set_key("LANG");
    kv->set_value("en_US.UTF-8");
    kv = f.container.add_envs();
    kv->set_key("EXTRA");
    kv->set_value("a=b");
    const auto env = strings(f.build()["process"]["env"]);
    const std::vector<std::string> expected = {"PATH=/image/bin", "LANG=en_US.UTF-8",
                                               "HOSTNAME=pod-a-host", "EXTRA=a=b", "HOME=/root"};
    EXPECT_EQ(env, expected);
}

// A pod without a hostname has the node's (never its long pod name).
TEST(OciSpecProcess, HostnameOfAPodThatNamesNone) {
    Fixture f;
    f.pod.clear_hostname();
    char node[256] = {};
    ASSERT_EQ(gethostname(node, sizeof(node) - 1), 0);
    const auto env = strings(f.build()["process"]["env"]);
    EXPECT_NE(std::find(env.begin(), env.end(), std::string("HOSTNAME=") + node), env.end());
}

TEST(OciSpecProcess, DefaultPathWhenTheImageHasNone) {
    Fixture f;
    f.image.env = {"LANG=C"};
    const auto env = strings(f.build()["process"]["env"]);
    ASSERT_FALSE(env.empty());
    EXPECT_EQ(env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

TEST(OciSpecProcess, CwdTerminalAndNoNewPrivileges) {
    Fixture f;
    EXPECT_EQ(f.build()["process"]["cwd"], "/");
    f.image.working_dir = "/srv";
    EXPECT_EQ(f.build()["process"]["cwd"], "/srv");
    f.container.set_working_dir("/work");
    f.container.set_tty(true);
    f.context().set_no_new_privs(true);
    const auto process = f.build()["process"];
    EXPECT_EQ(process["cwd"], "/work");
    EXPECT_EQ(process["terminal"], true);
    EXPECT_EQ(process["noNewPrivileges"], true);
    f.container.set_working_dir("relative");
    EXPECT_THROW(f.build(), SpecError);
}

TEST(OciSpecProcess, RlimitsAreTheDaemonsOwnHardLimit) {
    Fixture f;
    struct rlimit limit {};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
    const json expected = {
        {"type", "RLIMIT_NOFILE"}, {"hard", limit.rlim_max}, {"soft", limit.rlim_max}};
    EXPECT_EQ(f.build()["process"]["rlimits"], json::array({expected}));
}

TEST(OciSpecProcess, OomScoreAdjIsClampedToTheDaemonsOwn) {
    const int own = own_oom_score_adj();
    Fixture f;
    f.container.mutable_linux()->mutable_resources()->set_oom_score_adj(-999);
    EXPECT_EQ(f.build()["process"]["oomScoreAdj"], std::max(own, -999));
    f.container.mutable_linux()->mutable_resources()->set_oom_score_adj(1000);
    EXPECT_EQ(f.build()["process"]["oomScoreAdj"], 1000);
    f.container.mutable_linux()->clear_resources();
    EXPECT_FALSE(f.build()["process"].contains("oomScoreAdj"));
}

// --- users -------------------------------------------------------------------

struct UserCase {
    const char* image_user;
    std::int64_t run_as_user;  // -1: unset
    const char* run_as_username;
    std::int64_t run_as_group;  // -1: unset
    std::uint32_t uid, gid;
    std::vector<std::uint32_t> gids;
};

TEST(OciSpecUser, ImageAndContextForms) {
    const std::vector<UserCase> cases = {
        {"", -1, "", -1, 0, 0, {0}},
        {"app", -1, "", -1, 1000, 1001, {1001, 50, 29}},
        {"1000", -1, "", -1, 1000, 1001, {1001, 50, 29}},
        {"app:staff", -1, "", -1, 1000, 50, {50, 29}},
        {"1000:44", -1, "", -1, 1000, 44, {44, 50, 29}},
        {"1000:video", -1, "", -1, 1000, 44, {44, 50, 29}},
        {"4242", -1, "", -1, 4242, 0, {0}},
        {"4242:7", -1, "", -1, 4242, 7, {7}},
        {"app", 65534, "", -1, 65534, 65534, {65534}},
        {"", -1, "app", -1, 1000, 1001, {1001, 50, 29}},
        {"", 1000, "", 5, 1000, 5, {5, 50, 29}},
        {"nobody:audio", -1, "", -1, 65534, 29, {29}},
    };
    for (const auto& c : cases) {
        Fixture f;
        f.image.user = c.image_user;
        if (c.run_as_user >= 0) {
            f.context().mutable_run_as_user()->set_value(c.run_as_user);
        }
        f.context().set_run_as_username(c.run_as_username);
        if (c.run_as_group >= 0) {
            f.context().mutable_run_as_group()->set_value(c.run_as_group);
        }
        const auto user = f.build()["process"]["user"];
        const std::string label = std::string(c.image_user) + "/" + std::to_string(c.run_as_user) +
                                  "/" + c.run_as_username;
        EXPECT_EQ(user["uid"], c.uid) << label;
        EXPECT_EQ(user["gid"], c.gid) << label;
        EXPECT_EQ(user["additionalGids"].get<std::vector<std::uint32_t>>(), c.gids) << label;
    }
}

TEST(OciSpecUser, SupplementalGroupsAndStrictPolicy) {
    Fixture f;
    f.image.user = "app";
    f.context().add_supplemental_groups(3000);
    f.context().add_supplemental_groups(50);
    EXPECT_EQ(f.build()["process"]["user"]["additionalGids"].get<std::vector<std::uint32_t>>(),
              (std::vector<std::uint32_t>{1001, 50, 29, 3000}));
    f.context().set_supplemental_groups_policy(v1::Strict);
    EXPECT_EQ(f.build()["process"]["user"]["additionalGids"].get<std::vector<std::uint32_t>>(),
              (std::vector<std::uint32_t>{1001, 3000, 50}));
}

TEST(OciSpecUser, UnknownNamesAreErrors) {
    Fixture f;
    f.image.user = "ghost";
    EXPECT_THROW(f.build(), SpecError);
    f.image.user = "app:ghosts";
    EXPECT_THROW(f.build(), SpecError);
    f.image.user = "";
    f.context().set_run_as_username("ghost");
    EXPECT_THROW(f.build(), SpecError);
}

TEST(OciSpecUser, GroupWithoutUserIsRefused) {
    Fixture f;
    f.image.user = "app";
    f.context().mutable_run_as_group()->set_value(5);
    try {
        f.build();
        FAIL() << "run_as_group alone must be refused";
    } catch (const SpecError& error) {
        EXPECT_NE(std::string(error.what()).find("run_as_group"), std::string::npos);
    }
    f.context().set_run_as_username("app");
    EXPECT_EQ(f.build()["process"]["user"]["gid"], 5);
}

TEST(OciSpecUser, PasswdSymlinksResolveInsideTheRootfs) {
    Fixture f;
    fs::remove(f.dir.path() / "rootfs/etc/passwd");
    f.dir.write("rootfs/real/passwd", "svc:x:777:778::/srv:/bin/sh\n");
    // Absolute and climbing: both must land in the rootfs, never the host.
    fs::create_symlink("/../../../../real/passwd", f.dir.path() / "rootfs/etc/passwd");
    f.image.user = "svc";
    const auto user = f.build()["process"]["user"];
    EXPECT_EQ(user["uid"], 777);
    EXPECT_EQ(user["gid"], 778);

    fs::create_directories(f.dir.path() / "rootfs/lib");
    fs::create_symlink("../real", f.dir.path() / "rootfs/lib/link");
    EXPECT_EQ(resolve_in_rootfs(f.rootfs(), "/lib/link/passwd"), f.rootfs() + "/real/passwd");
    EXPECT_EQ(resolve_in_rootfs(f.rootfs(), "/etc/passwd"), f.rootfs() + "/real/passwd");
    fs::create_symlink("loop", f.dir.path() / "rootfs/loop");
    EXPECT_THROW(resolve_in_rootfs(f.rootfs(), "/loop/x"), SpecError);
}

// --- capabilities ------------------------------------------------------------

TEST(OciSpecCapabilities, DefaultsAddDropAndAll) {
    const std::vector<std::string> defaults = {
        "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER",  "CAP_FSETID",          "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID",       "CAP_SETPCAP", "CAP_NET_BIND_SERVICE"};
    Fixture f;
    auto caps = f.build()["process"]["capabilities"];
    EXPECT_EQ(strings(caps["bounding"]), defaults);
    EXPECT_EQ(caps["effective"], caps["bounding"]);
    EXPECT_EQ(caps["permitted"], caps["bounding"]);
    EXPECT_EQ(caps["inheritable"], json::array());
    EXPECT_EQ(caps["ambient"], json::array());

    auto* requested = f.context().mutable_capabilities();
    requested->add_add_capabilities("net_admin");
    requested->add_add_capabilities("CAP_SYS_TIME");
    requested->add_drop_capabilities("CHOWN");
    caps = f.build()["process"]["capabilities"]["bounding"];
    EXPECT_TRUE(std::find(caps.begin(), caps.end(), "CAP_NET_ADMIN") != caps.end());
    EXPECT_TRUE(std::find(caps.begin(), caps.end(), "CAP_SYS_TIME") != caps.end());
    EXPECT_TRUE(std::find(caps.begin(), caps.end(), "CAP_CHOWN") == caps.end());

    requested->Clear();
    requested->add_drop_capabilities("ALL");
    requested->add_add_capabilities("KILL");
    EXPECT_EQ(strings(f.build()["process"]["capabilities"]["bounding"]),
              std::vector<std::string>{"CAP_KILL"});

    requested->Clear();
    requested->add_add_capabilities("all");
    requested->add_drop_capabilities("KILL");
    auto expected = all_capabilities();
    expected.erase(std::remove(expected.begin(), expected.end(), "CAP_KILL"), expected.end());
    EXPECT_EQ(strings(f.build()["process"]["capabilities"]["bounding"]), expected);

    requested->Clear();
    requested->add_add_capabilities("CAP_FLY");
    EXPECT_THROW(f.build(), SpecError);
}

TEST(OciSpecCapabilities, ConfiguredDefaults) {
    Fixture f;
    f.config.runtime.default_capabilities = {"KILL", "CAP_SETUID"};
    EXPECT_EQ(strings(f.build()["process"]["capabilities"]["bounding"]),
              (std::vector<std::string>{"CAP_KILL", "CAP_SETUID"}));
    f.config.runtime.default_capabilities = {"BOGUS"};
    EXPECT_THROW(f.build(), SpecError);
}

// --- privileged and read-only ------------------------------------------------

TEST(OciSpecSecurity, Privileged) {
    Fixture f;
    f.context().set_privileged(true);
    const auto spec = f.build();
    EXPECT_EQ(strings(spec["process"]["capabilities"]["bounding"]), all_capabilities());
    const auto& linux_section = spec["linux"];
    EXPECT_FALSE(linux_section.contains("maskedPaths"));
    EXPECT_FALSE(linux_section.contains("readonlyPaths"));
    EXPECT_FALSE(linux_section.contains("seccomp"));
    EXPECT_TRUE(has_option(*find_mount(spec, "/sys"), "rw"));
    EXPECT_TRUE(has_option(*find_mount(spec, "/sys/fs/cgroup"), "rw"));
    EXPECT_EQ(linux_section["resources"]["devices"],
              json::array({{{"allow", true}, {"access", "rwm"}}}));
    const auto& devices = linux_section["devices"];
    const auto null_device = std::find_if(devices.begin(), devices.end(),
                                          [](const json& d) { return d["path"] == "/dev/null"; });
    ASSERT_NE(null_device, devices.end());
    EXPECT_EQ((*null_device)["type"], "c");
    EXPECT_EQ((*null_device)["major"], 1);
    EXPECT_EQ((*null_device)["minor"], 3);

    // A privileged container runs without seccomp, whatever it names.
    f.context().mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
    EXPECT_FALSE(f.build()["linux"].contains("seccomp"));
    f.context().mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
    f.context().mutable_seccomp()->set_localhost_ref(
        f.dir.write("block.json", R"({"defaultAction":"SCMP_ACT_ERRNO"})"));
    EXPECT_FALSE(f.build()["linux"].contains("seccomp"));
    f.config.runtime.seccomp_use_default_when_empty = true;
    f.context().clear_seccomp();
    EXPECT_FALSE(f.build()["linux"].contains("seccomp"));
}

TEST(OciSpecSecurity, UnprivilegedDefaults) {
    Fixture f;
    const auto spec = f.build();
    EXPECT_TRUE(has_option(*find_mount(spec, "/sys"), "ro"));
    EXPECT_TRUE(has_option(*find_mount(spec, "/sys/fs/cgroup"), "ro"));
    EXPECT_EQ(spec["linux"]["resources"]["devices"],
              json::array({{{"allow", false}, {"access", "rwm"}}}));
    EXPECT_FALSE(spec["linux"].contains("devices"));
    EXPECT_EQ(spec["root"], json({{"path", f.rootfs()}, {"readonly", false}}));
    EXPECT_EQ(spec["ociVersion"], "1.0.2");
}

TEST(OciSpecSecurity, CriDevices) {
    Fixture f;
    auto* device = f.container.add_devices();
    device->set_host_path("/dev/null");
    device->set_container_path("/dev/mynull");
    device->set_permissions("rw");
    const auto linux_section = f.build()["linux"];
    EXPECT_EQ(linux_section["devices"][0]["path"], "/dev/mynull");
    EXPECT_EQ(linux_section["resources"]["devices"][1],
              json({{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rw"}}));
    device->set_host_path(f.dir / "rootfs/etc/passwd");
    EXPECT_THROW(f.build(), SpecError);
    device->set_host_path("/dev/null");
    device->set_container_path("/dev/../etc/null");
    try {
        f.build();
        ADD_FAILURE() << "a device path with \"..\" was accepted";
    } catch (const SpecError& error) {
        EXPECT_NE(std::string(error.what()).find("devices[0].container_path"), std::string::npos)
            << error.what();
    }
    device->set_container_path("/dev/mynull");
    device->set_host_path("/dev/../dev/null");
    EXPECT_THROW(f.build(), SpecError);
}

TEST(OciSpecSecurity, ReadonlyRootfs) {
    Fixture f;
    f.context().set_readonly_rootfs(true);
    const auto spec = f.build();
    EXPECT_EQ(spec["root"]["readonly"], true);
    EXPECT_TRUE(has_option(*find_mount(spec, "/etc/hosts"), "ro"));
    EXPECT_TRUE(has_option(*find_mount(spec, "/etc/resolv.conf"), "ro"));
}

TEST(OciSpecSecurity, MaskedAndReadonlyPaths) {
    Fixture f;
    auto linux_section = f.build()["linux"];
    const std::vector<std::string> masked = {"/proc/acpi",        "/proc/kcore",
                                             "/proc/keys",        "/proc/latency_stats",
                                             "/proc/timer_list",  "/proc/timer_stats",
                                             "/proc/sched_debug", "/proc/scsi",
                                             "/sys/firmware",     "/sys/devices/virtual/powercap"};
    const std::vector<std::string> readonly = {"/proc/asound", "/proc/bus", "/proc/fs",
                                               "/proc/irq",    "/proc/sys", "/proc/sysrq-trigger"};
    EXPECT_EQ(strings(linux_section["maskedPaths"]), masked);
    EXPECT_EQ(strings(linux_section["readonlyPaths"]), readonly);
    f.context().add_masked_paths("/proc/kcore");
    f.context().add_readonly_paths("/proc/sys");
    f.context().add_readonly_paths("/proc/bus");
    linux_section = f.build()["linux"];
    EXPECT_EQ(strings(linux_section["maskedPaths"]), std::vector<std::string>{"/proc/kcore"});
    EXPECT_EQ(strings(linux_section["readonlyPaths"]),
              (std::vector<std::string>{"/proc/sys", "/proc/bus"}));
}

// --- mounts ------------------------------------------------------------------

TEST(OciSpecMounts, DefaultsAndSandboxFiles) {
    Fixture f;
    const auto spec = f.build();
    for (const char* destination :
         {"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup"}) {
        EXPECT_NE(find_mount(spec, destination), nullptr) << destination;
    }
    EXPECT_EQ((*find_mount(spec, "/dev/shm"))["source"], f.sandbox.shm_path);
    EXPECT_EQ((*find_mount(spec, "/etc/resolv.conf"))["source"], f.sandbox.resolv_conf_path);
    EXPECT_EQ((*find_mount(spec, "/etc/hostname"))["source"], f.sandbox.hostname_path);
    EXPECT_EQ((*find_mount(spec, "/etc/hosts"))["source"], f.sandbox.hosts_path);
    EXPECT_EQ((*find_mount(spec, "/sys/fs/cgroup"))["type"], "cgroup");

    f.sandbox.shm_path.clear();
    const auto shm = *find_mount(f.build(), "/dev/shm");
    EXPECT_EQ(shm["type"], "tmpfs");
    EXPECT_TRUE(has_option(shm, "size=65536k"));
    f.sandbox.ipcns_path.clear();
    EXPECT_EQ((*find_mount(f.build(), "/dev/shm"))["source"], "/dev/shm");
}

TEST(OciSpecMounts, CriMounts) {
    Fixture f;
    const std::string host = f.dir / "host";
    fs::create_directories(host + "/a");
    auto add = [&](const std::string& container_path, const std::string& host_path, bool ro,
                   v1::MountPropagation propagation) {
        auto* m = f.container.add_mounts();
        m->set_container_path(container_path);
        m->set_host_path(host_path);
        m->set_readonly(ro);
        m->set_propagation(propagation);
        m->set_selinux_relabel(true);
    };
    add("/data/sub", host + "/a", false, v1::PROPAGATION_PRIVATE);
    add("/data", host + "/missing/dir", true, v1::PROPAGATION_HOST_TO_CONTAINER);
    add("/shared", host + "/a", false, v1::PROPAGATION_BIDIRECTIONAL);
    add("/etc/hosts", host + "/a", true, v1::PROPAGATION_PRIVATE);
    const auto spec = f.build();

    EXPECT_EQ(*find_mount(spec, "/data/sub"), json({{"destination", "/data/sub"},
                                                    {"type", "bind"},
                                                    {"source", host + "/a"},
                                                    {"options", {"rbind", "rprivate", "rw"}}}));
    EXPECT_EQ((*find_mount(spec, "/data"))["options"], json({"rbind", "rslave", "ro"}));
    EXPECT_EQ((*find_mount(spec, "/shared"))["options"], json({"rbind", "rshared", "rw"}));
    EXPECT_TRUE(fs::is_directory(host + "/missing/dir"));
    EXPECT_EQ((*find_mount(spec, "/etc/hosts"))["source"], host + "/a");
    EXPECT_EQ(std::count_if(spec["mounts"].begin(), spec["mounts"].end(),
                            [](const json& m) { return m["destination"] == "/etc/hosts"; }),
              1);
    EXPECT_EQ(spec["linux"]["rootfsPropagation"], "rshared");

    // Parents before children.
    std::vector<std::string> order;
    for (const auto& m : spec["mounts"]) {
        order.push_back(m["destination"]);
    }
    const auto position = [&](const std::string& d) {
        return std::find(order.begin(), order.end(), d) - order.begin();
    };
    EXPECT_LT(position("/data"), position("/data/sub"));
    EXPECT_LT(position("/dev"), position("/dev/pts"));
    EXPECT_LT(position("/sys"), position("/sys/fs/cgroup"));

    f.container.mutable_mounts(0)->set_container_path("data/rel");
    EXPECT_THROW(f.build(), SpecError);
}

// Mount paths come from the request; berthd creates a missing host path as
// root, and "..", NUL or a newline in either path is refused first.
TEST(OciSpecMounts, PathsWithDotDotOrControlCharactersAreRefused) {
    Fixture f;
    auto* m = f.container.add_mounts();
    const auto message = [&] {
        try {
            f.build();
        } catch (const SpecError& error) {
            return std::string(error.what());
        }
        return std::string("built");
    };
    m->set_container_path("/data");
    m->set_host_path(f.dir / "a/../made");
    EXPECT_NE(message().find("mounts[0].host_path"), std::string::npos) << message();
    EXPECT_FALSE(fs::exists(f.dir / "made"));
    m->set_host_path(f.dir / "host");
    const std::vector<std::string> bad_paths = {"/data/../../etc", "/..", "/data/..",
                                                std::string("/a\0b", 4), "/a\nb"};
    for (const auto& bad : bad_paths) {
        m->set_container_path(bad);
        EXPECT_NE(message().find("mounts[0].container_path"), std::string::npos) << message();
    }
    // ".." inside a name is only a name.
    m->set_container_path("/data/..hidden");
    EXPECT_NO_THROW(f.build());
}

TEST(OciSpecMounts, RecursiveReadOnly) {
    Fixture f;
    auto* m = f.container.add_mounts();
    m->set_container_path("/mnt");
    m->set_host_path(f.dir / "host");
    m->set_readonly(true);
    m->set_recursive_read_only(true);
    m->set_propagation(v1::PROPAGATION_PRIVATE);
    const auto message = [&] {
        try {
            f.build();
        } catch (const SpecError& error) {
            return std::string(error.what());
        }
        return std::string("built");
    };
    // Only where the handler's runtime can.
    EXPECT_NE(message().find("cannot make recursive read-only mounts"), std::string::npos);
    f.recursive_read_only_mounts = true;
    EXPECT_EQ((*find_mount(f.build(), "/mnt"))["options"],
              json({"rbind", "rprivate", "ro", "rro"}));
    m->set_readonly(false);
    EXPECT_NE(message().find("mounts[0].recursive_read_only needs readonly"), std::string::npos);
    m->set_readonly(true);
    for (const auto propagation :
         {v1::PROPAGATION_HOST_TO_CONTAINER, v1::PROPAGATION_BIDIRECTIONAL}) {
        m->set_propagation(propagation);
        EXPECT_NE(message().find("needs propagation PROPAGATION_PRIVATE"), std::string::npos);
    }
    // Plain read-only stays plain: submounts keep their own mode.
    m->set_propagation(v1::PROPAGATION_PRIVATE);
    m->set_recursive_read_only(false);
    EXPECT_EQ((*find_mount(f.build(), "/mnt"))["options"], json({"rbind", "rprivate", "ro"}));
}

TEST(OciSpecMounts, ImageVolumes) {
    Fixture f;
    f.image.volumes = {"/var/lib/data", "/cache"};
    auto* m = f.container.add_mounts();
    m->set_container_path("/cache");
    m->set_host_path(f.dir / "cache");

    f.config.image.image_volumes = config::ImageVolumes::Mkdir;
    auto spec = f.build();
    EXPECT_TRUE(fs::is_directory(f.rootfs() + "/var/lib/data"));
    EXPECT_EQ(find_mount(spec, "/var/lib/data"), nullptr);

    f.config.image.image_volumes = config::ImageVolumes::Bind;
    spec = f.build();
    const auto* volume = find_mount(spec, "/var/lib/data");
    ASSERT_NE(volume, nullptr);
    EXPECT_TRUE(fs::is_directory((*volume)["source"].get<std::string>()));
    EXPECT_EQ((*volume)["source"].get<std::string>().rfind(f.dir / "container", 0), 0U);
    EXPECT_EQ((*find_mount(spec, "/cache"))["source"], f.dir / "cache");

    f.config.image.image_volumes = config::ImageVolumes::Ignore;
    EXPECT_EQ(find_mount(f.build(), "/var/lib/data"), nullptr);
}

// --- namespaces --------------------------------------------------------------

struct NamespaceCase {
    v1::NamespaceMode pid;
    bool host_network;
    json expected;
};

TEST(OciSpecNamespaces, PidModesAndHostNetwork) {
    const std::string id(64, 'a');
    const json net = {{"type", "network"}, {"path", "/run/berth/netns/" + id}};
    const json ipc = {{"type", "ipc"}, {"path", "/run/berth/ipcns/" + id}};
    const json uts = {{"type", "uts"}, {"path", "/run/berth/utsns/" + id}};
    const json mnt = {{"type", "mount"}};
    const std::vector<NamespaceCase> cases = {
        {v1::POD,
         false,
         {{{"type", "pid"}, {"path", "/run/berth/pidns/" + id}}, net, ipc, uts, mnt}},
        {v1::CONTAINER, false, {{{"type", "pid"}}, net, ipc, uts, mnt}},
        {v1::NODE, false, {net, ipc, uts, mnt}},
        {v1::TARGET, false, {{{"type", "pid"}, {"path", "/proc/42/ns/pid"}}, net, ipc, uts, mnt}},
        {v1::CONTAINER, true, {{{"type", "pid"}}, ipc, mnt}},
    };
    for (const auto& c : cases) {
        Fixture f;
        f.context().mutable_namespace_options()->set_pid(c.pid);
        f.target_pid_ns = "/proc/42/ns/pid";
        if (c.host_network) {
            f.sandbox.netns_path.clear();
            f.sandbox.utsns_path.clear();
        }
        const auto spec = f.build();
        EXPECT_EQ(spec["linux"]["namespaces"], c.expected) << c.pid << " " << c.host_network;
        if (c.host_network) {
            EXPECT_FALSE(spec.contains("hostname"));
        } else {
            EXPECT_EQ(spec["hostname"], "pod-a-host");
        }
    }
    Fixture f;
    f.context().mutable_namespace_options()->set_pid(v1::TARGET);
    EXPECT_THROW(f.build(), SpecError);
}

// --- resources ---------------------------------------------------------------

TEST(OciSpecResources, LimitsAndCgroupsPath) {
    Fixture f;
    auto* r = f.container.mutable_linux()->mutable_resources();
    r->set_cpu_shares(512);
    r->set_cpu_quota(50000);
    r->set_cpu_period(100000);
    r->set_cpuset_cpus("0-1");
    r->set_cpuset_mems("0");
    r->set_memory_limit_in_bytes(256 << 20);
    auto* huge = r->add_hugepage_limits();
    huge->set_page_size("2MB");
    huge->set_limit(4 << 20);
    (*r->mutable_unified())["memory.high"] = "200000000";
    f.config.runtime.pids_limit = 1024;
    f.pod.mutable_linux()->set_cgroup_parent("/kubepods/burstable/poduid-a");
    const std::string id(64, 'c');

    auto spec = f.build();
    const auto& resources = spec["linux"]["resources"];
    EXPECT_EQ(resources["cpu"], json({{"shares", 512},
                                      {"quota", 50000},
                                      {"period", 100000},
                                      {"cpus", "0-1"},
                                      {"mems", "0"}}));
    EXPECT_EQ(resources["memory"]["limit"], 256 << 20);
    if (memory_swap_supported()) {
        EXPECT_EQ(resources["memory"]["swap"], 256 << 20);
    } else {
        EXPECT_FALSE(resources["memory"].contains("swap"));
    }
    EXPECT_EQ(resources["hugepageLimits"],
              json::array({{{"pageSize", "2MB"}, {"limit", 4 << 20}}}));
    EXPECT_EQ(resources["pids"], json({{"limit", 1024}}));
    EXPECT_EQ(resources["unified"], json({{"memory.high", "200000000"}}));
    EXPECT_EQ(spec["linux"]["cgroupsPath"], "/kubepods/burstable/poduid-a/berth-" + id);

    f.config.runtime.cgroup_manager = config::CgroupManager::Systemd;
    f.pod.mutable_linux()->set_cgroup_parent("kubepods-burstable-poduid_a.slice");
    EXPECT_EQ(f.build()["linux"]["cgroupsPath"], "kubepods-burstable-poduid_a.slice:berth:" + id);
    f.pod.mutable_linux()->clear_cgroup_parent();
    EXPECT_EQ(f.build()["linux"]["cgroupsPath"], "system.slice:berth:" + id);

    f.config.runtime.cgroup_manager = config::CgroupManager::Cgroupfs;
    EXPECT_EQ(f.build()["linux"]["cgroupsPath"], "/berth/berth-" + id);
    f.pod.mutable_linux()->set_cgroup_parent("relative");
    EXPECT_THROW(f.build(), SpecError);

    f.pod.mutable_linux()->clear_cgroup_parent();
    f.config.runtime.pids_limit = -1;
    f.container.mutable_linux()->clear_resources();
    spec = f.build();
    EXPECT_FALSE(spec["linux"]["resources"].contains("cpu"));
    EXPECT_FALSE(spec["linux"]["resources"].contains("memory"));
    EXPECT_FALSE(spec["linux"]["resources"].contains("pids"));
}

// --- sysctls -----------------------------------------------------------------

TEST(OciSpecSysctls, DefaultsThenPod) {
    Fixture f;
    f.config.runtime.default_sysctls = {"net.ipv4.ping_group_range=0 2147483647",
                                        "kernel.shmmax = 1000", "net.core.somaxconn=100"};
    (*f.pod.mutable_linux()->mutable_sysctls())["net.core.somaxconn"] = "4096";
    EXPECT_EQ(f.build()["linux"]["sysctl"], json({{"net.ipv4.ping_group_range", "0 2147483647"},
                                                  {"kernel.shmmax", "1000"},
                                                  {"net.core.somaxconn", "4096"}}));
    // Defaults for namespaces the pod shares with the host are left out.
    f.pod.mutable_linux()->clear_sysctls();
    f.sandbox.netns_path.clear();
    f.sandbox.ipcns_path.clear();
    EXPECT_FALSE(f.build()["linux"].contains("sysctl"));
    f.config.runtime.default_sysctls = {"novalue"};
    EXPECT_THROW(f.build(), SpecError);
}

// --- seccomp -----------------------------------------------------------------

bool allows(const json& profile, const std::string& name) {
    for (const auto& rule : profile["syscalls"]) {
        if (rule["action"] == "SCMP_ACT_ALLOW" && !rule.contains("args") &&
            std::find(rule["names"].begin(), rule["names"].end(), name) != rule["names"].end()) {
            return true;
        }
    }
    return false;
}

bool allows_masked_clone(const json& profile) {
    return std::any_of(profile["syscalls"].begin(), profile["syscalls"].end(), [](const json& r) {
        return r["names"] == json::array({"clone"}) && r.contains("args") &&
               r["args"][0]["op"] == "SCMP_CMP_MASKED_EQ";
    });
}

TEST(OciSpecSeccomp, RuntimeDefaultProfile) {
    const std::vector<std::string> defaults = default_capabilities();
    const json profile = default_seccomp_profile(defaults);
    EXPECT_EQ(profile["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_EQ(profile["defaultErrnoRet"], 1);
    for (const char* allowed : {"read", "write", "openat", "execve", "exit_group", "futex"}) {
        EXPECT_TRUE(allows(profile, allowed)) << allowed;
    }
    for (const char* refused :
         {"unshare", "mount", "reboot", "keyctl", "add_key", "kexec_load", "swapon", "setns", "bpf",
          "init_module", "clone", "sethostname", "clock_settime", "acct", "vhangup"}) {
        EXPECT_FALSE(allows(profile, refused)) << refused;
    }
    EXPECT_TRUE(allows_masked_clone(profile));
    // Names of 32-bit x86 only are fine (the filter covers i386 too), but
    // nothing libseccomp does not know at all.
    for (const auto& rule : profile["syscalls"]) {
        for (const auto& name : rule["names"]) {
            EXPECT_NE(name, "") << rule;
        }
    }
}

// Docker's capability-conditional rules: a capability brings the syscalls
// it is there for.
TEST(OciSpecSeccomp, RuntimeDefaultFollowsCapabilities) {
    std::vector<std::string> caps = default_capabilities();
    caps.push_back("CAP_SYS_ADMIN");
    const json admin = default_seccomp_profile(caps);
    for (const char* allowed : {"sethostname", "setdomainname", "mount", "umount2", "unshare",
                                "setns", "clone", "clone3"}) {
        EXPECT_TRUE(allows(admin, allowed)) << allowed;
    }
    EXPECT_FALSE(allows_masked_clone(admin));
    for (const char* refused : {"reboot", "init_module", "keyctl", "kexec_load", "swapon"}) {
        EXPECT_FALSE(allows(admin, refused)) << refused;
    }
    const json timekeeper = default_seccomp_profile({"CAP_SYS_TIME", "CAP_SYS_BOOT"});
    EXPECT_TRUE(allows(timekeeper, "clock_settime"));
    EXPECT_TRUE(allows(timekeeper, "settimeofday"));
    EXPECT_TRUE(allows(timekeeper, "reboot"));
    EXPECT_FALSE(allows(timekeeper, "sethostname"));

    // The spec's profile is the one of the container's own capabilities.
    Fixture f;
    f.context().mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
    EXPECT_FALSE(allows(f.build()["linux"]["seccomp"], "sethostname"));
    f.context().mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
    EXPECT_TRUE(allows(f.build()["linux"]["seccomp"], "sethostname"));
}

TEST(OciSpecSeccomp, EachKind) {
    Fixture f;
    const json runtime_default = default_seccomp_profile(default_capabilities());
    // Nothing named: unconfined, as the CRI says; RuntimeDefault only when
    // the configuration asks for it.
    EXPECT_FALSE(f.build()["linux"].contains("seccomp"));
    f.config.runtime.seccomp_use_default_when_empty = true;
    EXPECT_EQ(f.build()["linux"]["seccomp"], runtime_default);
    f.config.runtime.seccomp_use_default_when_empty = false;

    auto* seccomp = f.context().mutable_seccomp();
    seccomp->set_profile_type(v1::SecurityProfile::RuntimeDefault);
    EXPECT_EQ(f.build()["linux"]["seccomp"], runtime_default);
    seccomp->set_profile_type(v1::SecurityProfile::Unconfined);
    EXPECT_FALSE(f.build()["linux"].contains("seccomp"));

    const std::string oci =
        f.dir.write("profiles/oci.json",
                    R"({"defaultAction":"SCMP_ACT_LOG","architectures":["SCMP_ARCH_X86_64"],
            "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]})");
    seccomp->set_profile_type(v1::SecurityProfile::Localhost);
    seccomp->set_localhost_ref(oci);
    EXPECT_EQ(f.build()["linux"]["seccomp"],
              json({{"defaultAction", "SCMP_ACT_LOG"},
                    {"architectures", {"SCMP_ARCH_X86_64"}},
                    {"syscalls", {{{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}}}}}));

    const std::string docker = f.dir.write("profiles/docker.json", R"({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW", "comment": "", "includes": {}},
            {"name": "write", "action": "SCMP_ACT_ALLOW"},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_KILL"]}}
        ]})");
    seccomp->set_localhost_ref(docker);
    EXPECT_EQ(f.build()["linux"]["seccomp"]["syscalls"],
              json::array({{{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}},
                           {{"names", {"write"}}, {"action", "SCMP_ACT_ALLOW"}}}));

    seccomp->set_localhost_ref(f.dir / "profiles/missing.json");
    try {
        f.build();
        FAIL() << "a missing profile must fail";
    } catch (const SpecError& error) {
        EXPECT_NE(std::string(error.what()).find("missing.json"), std::string::npos);
    }
    seccomp->set_localhost_ref(f.dir.write("profiles/bad.json", "{not json"));
    EXPECT_THROW(f.build(), SpecError);
    seccomp->set_localhost_ref(f.dir.write("profiles/empty.json", "{}"));
    EXPECT_THROW(f.build(), SpecError);
}

// A Localhost profile is a path from the request that berthd reads as root:
// absolute without "..", and only a regular file of bounded size (a fifo
// would block the RPC, /dev/zero would never end).
TEST(OciSpecSeccomp, LocalhostProfilePathsAndFiles) {
    Fixture f;
    auto* seccomp = f.context().mutable_seccomp();
    seccomp->set_profile_type(v1::SecurityProfile::Localhost);
    const auto message = [&] {
        try {
            f.build();
        } catch (const SpecError& error) {
            return std::string(error.what());
        }
        return std::string("built");
    };
    const std::string good =
        f.dir.write("profiles/p.json", R"({"defaultAction":"SCMP_ACT_ALLOW"})");
    seccomp->set_localhost_ref(f.dir / "profiles/../profiles/p.json");
    EXPECT_NE(message().find("linux.security_context.seccomp.localhost_ref"), std::string::npos)
        << message();
    EXPECT_NE(message().find("\"..\" components"), std::string::npos) << message();
    seccomp->set_localhost_ref("profiles/p.json");
    EXPECT_NE(message().find("must be an absolute path"), std::string::npos) << message();

    const std::string fifo = f.dir / "profiles/fifo.json";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    seccomp->set_localhost_ref(fifo);
    EXPECT_NE(message().find("is not a regular file"), std::string::npos) << message();
    seccomp->set_localhost_ref("/dev/zero");
    EXPECT_NE(message().find("is not a regular file"), std::string::npos) << message();
    seccomp->set_localhost_ref(f.dir / "profiles");
    EXPECT_NE(message().find("is not a regular file"), std::string::npos) << message();
    seccomp->set_localhost_ref(
        f.dir.write("profiles/huge.json", std::string(2 << 20, ' ') + R"({"defaultAction":"x"})"));
    EXPECT_NE(message().find("is larger than"), std::string::npos) << message();

    // Read through a link is fine: it is only read.
    fs::create_symlink(good, f.dir / "profiles/link.json");
    seccomp->set_localhost_ref(f.dir / "profiles/link.json");
    EXPECT_EQ(f.build()["linux"]["seccomp"], json({{"defaultAction", "SCMP_ACT_ALLOW"}}));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    f.context().clear_seccomp();
    f.context().set_seccomp_profile_path("localhost/" + f.dir / "x/../profiles/p.json");
    EXPECT_NE(message().find("seccomp_profile_path"), std::string::npos) << message();
    EXPECT_NE(message().find("\"..\" components"), std::string::npos) << message();
#pragma GCC diagnostic pop
}

TEST(OciSpecSeccomp, DeprecatedProfilePath) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    Fixture f;
    const json runtime_default = default_seccomp_profile(default_capabilities());
    f.context().set_seccomp_profile_path("");
    EXPECT_FALSE(f.build()["linux"].contains("seccomp"));
    f.config.runtime.seccomp_use_default_when_empty = true;
    EXPECT_EQ(f.build()["linux"]["seccomp"], runtime_default);
    f.context().set_seccomp_profile_path("runtime/default");
    EXPECT_EQ(f.build()["linux"]["seccomp"], runtime_default);
    f.context().set_seccomp_profile_path("docker/default");
    EXPECT_EQ(f.build()["linux"]["seccomp"], runtime_default);
    f.context().set_seccomp_profile_path("unconfined");
    EXPECT_FALSE(f.build()["linux"].contains("seccomp"));
    const std::string file = f.dir.write("p.json", R"({"defaultAction":"SCMP_ACT_ALLOW"})");
    f.context().set_seccomp_profile_path("localhost/" + file);
    EXPECT_EQ(f.build()["linux"]["seccomp"], json({{"defaultAction", "SCMP_ACT_ALLOW"}}));
    f.context().set_seccomp_profile_path("localhost/" + f.dir / "nope.json");
    EXPECT_THROW(f.build(), SpecError);
    f.context().set_seccomp_profile_path("weird");
    EXPECT_THROW(f.build(), SpecError);
#pragma GCC diagnostic pop
}

// --- annotations -------------------------------------------------------------

TEST(OciSpecAnnotations, CriAndKubernetes) {
    Fixture f;
    (*f.container.mutable_annotations())["user.key"] = "v";
    (*f.container.mutable_annotations())["io.kubernetes.cri.sandbox-id"] = "forged";
    (*f.container.mutable_annotations())["io.kubernetes.cri.container-type"] = "sandbox";
    const auto annotations = f.build()["annotations"];
    // No sandbox task (an OCI handler's pod): no grouping pair, forged or not.
    const json expected = {
        {"user.key", "v"},
        {"io.kubernetes.cri.sandbox-name", "pod-a"},
        {"io.kubernetes.cri.sandbox-namespace", "ns-a"},
        {"io.kubernetes.cri.sandbox-uid", "uid-a"},
        {"io.kubernetes.cri.container-name", "web"},
        {"io.kubernetes.cri.image-name", "docker.io/library/busybox:latest"},
        {"io.kubernetes.container.name", "web"},
        {"io.kubernetes.pod.name", "pod-a"},
        {"io.kubernetes.pod.namespace", "ns-a"},
        {"io.kubernetes.pod.uid", "uid-a"},
        {"io.berth.image-ref", "sha256:" + std::string(64, 'f')},
        {"io.berth.log-path", "/var/log/pods/x/web/0.log"},
    };
    EXPECT_EQ(annotations, expected);

    // A VM handler's pod: the container joins the pod's sandbox task.
    f.sandbox.sandbox_task = true;
    const auto grouped = f.build()["annotations"];
    EXPECT_EQ(grouped["io.kubernetes.cri.container-type"], "container");
    EXPECT_EQ(grouped["io.kubernetes.cri.sandbox-id"], std::string(64, 'a'));
}

// --- CDI devices -------------------------------------------------------------

std::string error_of(const Fixture& f) {
    try {
        f.build();
    } catch (const SpecError& error) {
        return error.what();
    }
    return "";
}

TEST(OciSpecCdi, RequestedDevicesEditTheSpec) {
    Fixture f;
    f.config.runtime.cdi_spec_dirs = {f.dir / "cdi"};
    f.dir.write("cdi/test.yaml", R"(cdiVersion: 0.6.0
kind: berth.test/null
containerEdits:
  env: [LANG=cdi]
devices:
- name: one
  containerEdits:
    env: [BERTH_CDI=yes]
    deviceNodes:
    - {path: /dev/berth-cdi-null, hostPath: /dev/null}
- name: two
  containerEdits:
    mounts:
    - {hostPath: /usr/share, containerPath: /opt/shared, options: [rbind, ro]}
)");
    f.container.add_cdi_devices()->set_name("berth.test/null=one");
    const auto spec = f.build();
    const auto env = strings(spec["process"]["env"]);
    EXPECT_NE(std::find(env.begin(), env.end(), "BERTH_CDI=yes"), env.end());
    EXPECT_NE(std::find(env.begin(), env.end(), "LANG=cdi"), env.end());  // over the image's
    EXPECT_EQ(std::find(env.begin(), env.end(), "LANG=C"), env.end());
    ASSERT_EQ(spec["linux"]["devices"].size(), 1u);
    EXPECT_EQ(spec["linux"]["devices"][0]["path"], "/dev/berth-cdi-null");
    EXPECT_EQ(
        spec["linux"]["resources"]["devices"][1],
        json({{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}}));
    EXPECT_EQ(find_mount(spec, "/opt/shared"), nullptr);

    // The legacy annotation asks for more devices, comma-separated.
    (*f.container.mutable_annotations())["cdi.k8s.io/extra"] =
        "berth.test/null=two, berth.test/null=one";
    const auto both = f.build();
    ASSERT_NE(find_mount(both, "/opt/shared"), nullptr);
    EXPECT_EQ(both["linux"]["devices"].size(), 1u);  // "one" once
}

TEST(OciSpecCdi, BadNamesAndUnknownDevicesAreInvalidArguments) {
    Fixture f;
    f.config.runtime.cdi_spec_dirs = {f.dir / "cdi"};
    f.dir.write("cdi/test.json",
                R"({"cdiVersion": "0.5.0", "kind": "berth.test/null",
                    "devices": [{"name": "one", "containerEdits": {"env": ["A=1"]}}]})");
    f.container.add_cdi_devices()->set_name("berth.test/null=one");
    f.container.add_cdi_devices()->set_name("vendor.com/x=y");
    EXPECT_EQ(error_of(f), "CDI_devices[1].name \"vendor.com/x=y\": no CDI spec in " +
                               (f.dir / "cdi") + " defines this device");
    f.container.mutable_cdi_devices(1)->set_name("gpu0");
    EXPECT_EQ(error_of(f),
              "CDI_devices[1].name \"gpu0\" is not a fully qualified CDI device name "
              "(vendor.com/class=name)");
    f.container.mutable_cdi_devices()->RemoveLast();
    (*f.container.mutable_annotations())["cdi.k8s.io/a"] = "berth.test/null=none";
    EXPECT_EQ(error_of(f),
              "annotations[\"cdi.k8s.io/a\"] \"berth.test/null=none\": no CDI spec "
              "in " +
                  (f.dir / "cdi") + " defines this device");
}

// Whether memory.swap may be set: v1 has memory.memsw.* at the memory
// hierarchy's root; a v2 root cgroup has no memory.* files at all, only its
// children have memory.swap.max (when swap is accounted). A hybrid host's
// empty v2 tree at "unified" has neither.
TEST(OciSpec, SwapSupportOnCgroupV1AndV2) {
    {
        test::TempDir v1;
        v1.write("memory/memory.limit_in_bytes", "");
        EXPECT_FALSE(memory_swap_supported(v1.path().string()));
        v1.write("memory/memory.memsw.limit_in_bytes", "");
        EXPECT_TRUE(memory_swap_supported(v1.path().string()));
    }
    {
        test::TempDir v2;
        v2.write("cgroup.controllers", "cpu memory pids\n");
        v2.write("memory.stat", "");
        v2.write("init.scope/memory.max", "max\n");
        EXPECT_FALSE(memory_swap_supported(v2.path().string()));
        v2.write("system.slice/memory.swap.max", "max\n");
        EXPECT_TRUE(memory_swap_supported(v2.path().string()));
    }
    {
        test::TempDir hybrid;
        hybrid.write("memory/memory.limit_in_bytes", "");
        hybrid.write("unified/cgroup.controllers", "");
        hybrid.write("unified/init.scope/cgroup.procs", "");
        EXPECT_FALSE(memory_swap_supported(hybrid.path().string()));
    }
}

}  // namespace
}  // namespace berth::daemon::container
