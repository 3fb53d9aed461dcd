// The configuration: defaults, drop-in merging, flags, and the exact error
// for every kind of bad input.
#include <gtest/gtest.h>

#include <string>

#include "berth/config/loader.hpp"
#include "berth/config/serialize.hpp"
#include "temp_dir.hpp"

namespace config = berth::config;
using berth::test::TempDir;

namespace {

// Options that read only files inside `dir` (never /etc/berth).
config::LoadOptions options_in(const TempDir& dir) {
    config::LoadOptions options;
    options.config_file = dir / "berth.conf";
    options.config_dir = dir / "berth.conf.d";
    return options;
}

// Loads `content` as berth.conf and returns the error message ("" if none).
std::string error_for(const std::string& content) {
    TempDir dir;
    const std::string file = dir.write("berth.conf", content);
    try {
        config::load(options_in(dir));
    } catch (const config::ConfigError& error) {
        std::string message = error.what();
        // Tests compare the part after the temporary path.
        if (message.rfind(file, 0) == 0) {
            message = "berth.conf" + message.substr(file.size());
        }
        return message;
    }
    return "";
}

}  // namespace

TEST(ConfigDefaults, WorkWithNoFileAtAll) {
    TempDir dir;
    const config::Config cfg = config::load(options_in(dir));
    EXPECT_EQ(cfg.root, "/var/lib/berth");
    EXPECT_EQ(cfg.runroot, "/run/berth");
    EXPECT_EQ(cfg.api.listen, "/run/berth/berth.sock");
    EXPECT_EQ(cfg.api.stream_address, "127.0.0.1");
    EXPECT_EQ(cfg.api.stream_port, 0);
    EXPECT_EQ(cfg.api.unclaimed_result_timeout, 120);
    EXPECT_EQ(cfg.log_level, "info");
    EXPECT_EQ(cfg.log_target, config::LogTarget::Stderr);
    EXPECT_EQ(cfg.runtime.cgroup_manager, config::CgroupManager::Cgroupfs);
    EXPECT_EQ(cfg.runtime.log_size_max, -1);
    // crun where it is installed (berthd checks at start that it works).
    EXPECT_EQ(cfg.runtime.default_runtime,
              cfg.runtime.runtimes.count("crun") != 0 ? "crun" : "runc");
    EXPECT_FALSE(cfg.runtime.default_runtime_chosen);
    EXPECT_EQ(cfg.runtime.default_capabilities.front(), "CAP_CHOWN");
    EXPECT_EQ(cfg.runtime.default_capabilities.size(), 9u);
    EXPECT_FALSE(cfg.runtime.seccomp_use_default_when_empty);
    EXPECT_EQ(cfg.runtime.cdi_spec_dirs, (std::vector<std::string>{"/etc/cdi", "/var/run/cdi"}));
    EXPECT_EQ(cfg.image.unqualified_search_registries, std::vector<std::string>{"docker.io"});
    EXPECT_EQ(cfg.network.network_dir, "/etc/cni/net.d");
    EXPECT_EQ(cfg.network.plugin_dirs, (std::vector<std::string>{"/usr/lib/cni", "/opt/cni/bin"}));
    EXPECT_FALSE(cfg.metrics.enable);
}

TEST(ConfigDefaults, RuncHandlerComesFromTheInstalledBinary) {
    // contrib/install-deps.sh installs runc; the default handler finds it.
    TempDir dir;
    const config::Config cfg = config::load(options_in(dir));
    ASSERT_EQ(cfg.runtime.runtimes.count("runc"), 1u);
    const auto& runc = cfg.runtime.runtimes.at("runc");
    EXPECT_EQ(std::filesystem::path(runc.runtime_path).filename(), "runc");
    EXPECT_EQ(runc.runtime_type, config::RuntimeType::Oci);
    EXPECT_EQ(runc.runtime_root, "/run/berth/oci/runc");
}

TEST(ConfigDefaults, DerivedPathsFollowRunroot) {
    TempDir dir;
    dir.write("berth.conf", "[berth]\nrunroot = \"/tmp/rr\"\n");
    const config::Config cfg = config::load(options_in(dir));
    EXPECT_EQ(cfg.api.listen, "/tmp/rr/berth.sock");
    EXPECT_EQ(cfg.runtime.runtimes.at("runc").runtime_root, "/tmp/rr/oci/runc");
}

TEST(ConfigDefaults, ShippedConfigFileLoadsAndChangesNothing) {
    config::LoadOptions options;
    options.config_file = BERTH_SOURCE_DIR "/contrib/config/berth.conf";
    options.config_file_required = true;
    options.config_dir = "/nonexistent-berth-conf.d";
    const config::Config shipped = config::load(options);
    TempDir dir;
    const config::Config defaults = config::load(options_in(dir));
    EXPECT_EQ(config::changed_keys(defaults, shipped), std::vector<std::string>{});
}

TEST(ConfigFile, ReadsEveryTable) {
    const std::string file = R"(
[berth]
root = "/data/berth"
log_level = "debug"
log_target = "journald"

[berth.api]
listen = "/tmp/b.sock"
stream_port = 10010
unclaimed_result_timeout = 30

[berth.runtime]
cgroup_manager = "systemd"
log_size_max = 1048576
default_capabilities = ["chown", "CAP_KILL", "NET_RAW"]
default_sysctls = ["net.ipv4.ping_group_range=0 2147483647"]
pids_limit = 4096
seccomp_use_default_when_empty = true
cdi_spec_dirs = ["/opt/cdi"]

[berth.runtime.runtimes.kata]
runtime_path = "/usr/bin/containerd-shim-kata-v2"
runtime_type = "vm"
runtime_config_path = "/etc/kata/configuration.toml"
shim_timeout = 120

[berth.image]
insecure_registries = ["127.0.0.1:5000"]
unqualified_search_registries = ["quay.io", "docker.io"]
pinned_images = ["registry.k8s.io/pause*", "*critical*"]
image_volumes = "bind"

[berth.image.mirrors]
"registry.k8s.io" = ["http://127.0.0.1:5000", "https://mirror.example"]

[berth.network]
network_dir = "/tmp/cni"
plugin_dirs = ["/opt/cni/bin"]

[berth.metrics]
enable = true
port = 9537
)";
    TempDir dir;
    dir.write("berth.conf", file);
    const config::Config cfg = config::load(options_in(dir));
    EXPECT_EQ(cfg.root, "/data/berth");
    EXPECT_EQ(cfg.log_level, "debug");
    EXPECT_EQ(cfg.log_target, config::LogTarget::Journald);
    EXPECT_EQ(cfg.api.listen, "/tmp/b.sock");
    EXPECT_EQ(cfg.api.stream_port, 10010);
    EXPECT_EQ(cfg.api.unclaimed_result_timeout, 30);
    EXPECT_EQ(cfg.runtime.cgroup_manager, config::CgroupManager::Systemd);
    EXPECT_EQ(cfg.runtime.log_size_max, 1048576);
    EXPECT_EQ(cfg.runtime.default_capabilities,
              (std::vector<std::string>{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}));
    EXPECT_EQ(cfg.runtime.pids_limit, 4096);
    EXPECT_TRUE(cfg.runtime.seccomp_use_default_when_empty);
    EXPECT_EQ(cfg.runtime.cdi_spec_dirs, std::vector<std::string>{"/opt/cdi"});
    const auto& kata = cfg.runtime.runtimes.at("kata");
    EXPECT_EQ(kata.runtime_type, config::RuntimeType::Vm);
    EXPECT_EQ(kata.runtime_path, "/usr/bin/containerd-shim-kata-v2");
    EXPECT_EQ(kata.runtime_root, "/run/berth/oci/kata");
    EXPECT_EQ(kata.runtime_config_path, "/etc/kata/configuration.toml");
    EXPECT_EQ(kata.shim_timeout, 120);
    EXPECT_EQ(cfg.image.mirrors.at("registry.k8s.io").size(), 2u);
    EXPECT_EQ(cfg.image.image_volumes, config::ImageVolumes::Bind);
    EXPECT_EQ(cfg.image.pinned_images,
              (std::vector<std::string>{"registry.k8s.io/pause*", "*critical*"}));
    EXPECT_EQ(cfg.network.plugin_dirs, std::vector<std::string>{"/opt/cni/bin"});
    EXPECT_TRUE(cfg.metrics.enable);
    EXPECT_EQ(cfg.metrics.port, 9537);
}

TEST(ConfigDropIns, MergeInLexicalOrderKeyByKey) {
    TempDir dir;
    dir.write("berth.conf", "[berth]\nlog_level = \"debug\"\n[berth.api]\nstream_port = 1000\n");
    // Written out of order on purpose: 20 must still win over 10.
    dir.write("berth.conf.d/20-late.conf", "[berth]\nlog_level = \"error\"\n");
    dir.write("berth.conf.d/10-early.conf",
              "[berth]\nlog_level = \"warn\"\n[berth.api]\nstream_address = \"0.0.0.0\"\n"
              "[berth.runtime.runtimes.runc]\nruntime_root = \"/run/custom-runc\"\n");
    dir.write("berth.conf.d/30-ignored.conf.disabled", "this is not toml = = =");
    dir.write("berth.conf.d/15-more.conf",
              "[berth.runtime.runtimes.runc]\nprivileged_without_host_devices = true\n");
    const config::Config cfg = config::load(options_in(dir));
    EXPECT_EQ(cfg.log_level, "error");
    EXPECT_EQ(cfg.api.stream_port, 1000);          // from berth.conf, untouched
    EXPECT_EQ(cfg.api.stream_address, "0.0.0.0");  // from 10-early
    const auto& runc = cfg.runtime.runtimes.at("runc");
    EXPECT_EQ(runc.runtime_root, "/run/custom-runc");   // 10-early
    EXPECT_TRUE(runc.privileged_without_host_devices);  // 15-more
    EXPECT_FALSE(runc.runtime_path.empty());            // the built-in default survives
}

TEST(ConfigDropIns, ArraysAreReplacedNotAppended) {
    TempDir dir;
    dir.write("berth.conf", "[berth.network]\nplugin_dirs = [\"/a\", \"/b\"]\n");
    dir.write("berth.conf.d/50.conf", "[berth.network]\nplugin_dirs = [\"/c\"]\n");
    EXPECT_EQ(config::load(options_in(dir)).network.plugin_dirs, std::vector<std::string>{"/c"});
}

TEST(ConfigDropIns, AnErrorNamesTheDropInAndLine) {
    TempDir dir;
    dir.write("berth.conf", "[berth]\n");
    const std::string file =
        dir.write("berth.conf.d/10-x.conf", "# comment\n\n[berth.api]\nstream_port = 70000\n");
    try {
        config::load(options_in(dir));
        FAIL() << "expected an error";
    } catch (const config::ConfigError& error) {
        EXPECT_EQ(std::string(error.what()),
                  file + ":4: berth.api.stream_port: must be between 0 and 65535, not 70000");
    }
}

TEST(ConfigFlags, OverrideEveryFile) {
    TempDir dir;
    dir.write("berth.conf", "[berth]\nroot = \"/file/root\"\nlog_level = \"debug\"\n");
    dir.write("berth.conf.d/99.conf", "[berth]\nrunroot = \"/file/run\"\n");
    config::LoadOptions options = options_in(dir);
    options.root = "/flag/root";
    options.runroot = "/flag/run";
    options.listen = "/flag/berth.sock";
    options.log_level = "trace";
    const config::Config cfg = config::load(options);
    EXPECT_EQ(cfg.root, "/flag/root");
    EXPECT_EQ(cfg.runroot, "/flag/run");
    EXPECT_EQ(cfg.api.listen, "/flag/berth.sock");
    EXPECT_EQ(cfg.log_level, "trace");
}

TEST(ConfigFlags, BadFlagValueNamesTheFlag) {
    TempDir dir;
    config::LoadOptions options = options_in(dir);
    options.root = "relative/root";
    try {
        config::load(options);
        FAIL() << "expected an error";
    } catch (const config::ConfigError& error) {
        EXPECT_EQ(std::string(error.what()),
                  "--root: berth.root: must be an absolute path, not \"relative/root\"");
    }
    options.root.reset();
    options.log_level = "loud";
    try {
        config::load(options);
        FAIL() << "expected an error";
    } catch (const config::ConfigError& error) {
        EXPECT_EQ(std::string(error.what()),
                  "--log-level: berth.log_level: must be one of trace, debug, info, warn, error, "
                  "fatal, off, not \"loud\"");
    }
}

TEST(ConfigFlags, MissingExplicitFileAndNonDirectoryDropInsAreErrors) {
    TempDir dir;
    config::LoadOptions options = options_in(dir);
    options.config_file_required = true;
    EXPECT_THROW(config::load(options), config::ConfigError);
    options = options_in(dir);
    dir.write("berth.conf.d", "a file where the drop-in directory should be");
    EXPECT_THROW(config::load(options), config::ConfigError);
}

struct BadConfigCase {
    const char* name;
    const char* content;
    const char* error;
    // For messages that end with facts of this machine (which runtimes are
    // installed), only this prefix is compared.
    bool prefix_only = false;
};

class ConfigErrors : public testing::TestWithParam<BadConfigCase> {};

TEST_P(ConfigErrors, GiveFileLineKeyAndProblem) {
    const std::string error = error_for(GetParam().content);
    if (GetParam().prefix_only) {
        EXPECT_EQ(error.substr(0, std::string(GetParam().error).size()), GetParam().error);
    } else {
        EXPECT_EQ(error, GetParam().error);
    }
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, ConfigErrors,
    testing::Values(
        BadConfigCase{"syntax", "[berth]\nroot = \n",
                      "berth.conf:2: syntax error: missing value after key-value separator '='"},
        BadConfigCase{"duplicate_key", "[berth]\nroot = \"/a\"\nroot = \"/b\"\n",
                      "berth.conf:3: syntax error: value (\"root\") already exists."},
        BadConfigCase{"unknown_key", "[berth.api]\nlisten = \"/x.sock\"\nlisen = \"/y\"\n",
                      "berth.conf:3: berth.api.lisen: unknown key"},
        BadConfigCase{"unknown_table", "[berth.imagez]\nx = 1\n",
                      "berth.conf:1: berth.imagez: unknown key"},
        BadConfigCase{"unknown_top_level", "[crio]\nroot = \"/x\"\n",
                      "berth.conf:1: crio: unknown key"},
        BadConfigCase{"wrong_type_string", "[berth.api]\nstream_port = \"10010\"\n",
                      "berth.conf:2: berth.api.stream_port: expected an integer, found a string"},
        BadConfigCase{"wrong_type_bool", "[berth.metrics]\nenable = \"yes\"\n",
                      "berth.conf:2: berth.metrics.enable: expected a boolean, found a string"},
        BadConfigCase{"wrong_type_table", "[berth]\napi = 5\n",
                      "berth.conf:2: berth.api: expected a table, found an integer"},
        BadConfigCase{"wrong_array_item", "[berth.network]\nplugin_dirs = [\"/a\", 3]\n",
                      "berth.conf:2: berth.network.plugin_dirs: expected an array of strings, "
                      "found an integer in it"},
        BadConfigCase{"runtime_type_banana",
                      "[berth.runtime.runtimes.runc]\nruntime_type = \"banana\"\n",
                      "berth.conf:2: berth.runtime.runtimes.runc.runtime_type: must be one of "
                      "\"oci\", \"vm\", not \"banana\""},
        BadConfigCase{"shim_timeout_zero",
                      "[berth.runtime.runtimes.kata]\nruntime_type = \"vm\"\n"
                      "runtime_path = \"/usr/bin/containerd-shim-kata-v2\"\nshim_timeout = 0\n",
                      "berth.conf:4: berth.runtime.runtimes.kata.shim_timeout: must be a positive "
                      "number of seconds"},
        BadConfigCase{
            "runtime_not_a_table", "[berth.runtime.runtimes]\nrunc = \"/usr/sbin/runc\"\n",
            "berth.conf:2: berth.runtime.runtimes.runc: expected a table, found a string"},
        BadConfigCase{"relative_path", "[berth]\nroot = \"var/lib/berth\"\n",
                      "berth.conf:2: berth.root: must be an absolute path, not \"var/lib/berth\""},
        BadConfigCase{"relative_runtime_path",
                      "[berth.runtime.runtimes.runc]\nruntime_path = \"runc\"\n",
                      "berth.conf:2: berth.runtime.runtimes.runc.runtime_path: must be an "
                      "absolute path, not \"runc\""},
        BadConfigCase{"missing_runtime_binary",
                      "[berth.runtime.runtimes.no-such-runtime-xyz]\nruntime_type = \"oci\"\n",
                      "berth.conf:1: berth.runtime.runtimes.no-such-runtime-xyz.runtime_path: not "
                      "set, "
                      "and no executable \"no-such-runtime-xyz\" found in PATH"},
        BadConfigCase{"default_runtime_without_table",
                      "[berth.runtime]\n\ndefault_runtime = \"kata\"\n"
                      "[berth.runtime.runtimes.runc]\n",
                      "berth.conf:3: berth.runtime.default_runtime: \"kata\" names no "
                      "[berth.runtime.runtimes.*] table (configured: ",
                      true},
        BadConfigCase{"cgroup_manager", "[berth.runtime]\ncgroup_manager = \"cgroupv3\"\n",
                      "berth.conf:2: berth.runtime.cgroup_manager: must be one of \"cgroupfs\", "
                      "\"systemd\", not \"cgroupv3\""},
        BadConfigCase{"log_size_max", "[berth.runtime]\nlog_size_max = 100\n",
                      "berth.conf:2: berth.runtime.log_size_max: must be -1 (unlimited) or at "
                      "least 8192, not 100"},
        BadConfigCase{"pids_limit", "[berth.runtime]\npids_limit = 0\n",
                      "berth.conf:2: berth.runtime.pids_limit: must be -1 (unlimited) or "
                      "positive, not 0"},
        BadConfigCase{"capability",
                      "[berth.runtime]\ndefault_capabilities = [\"CHOWN\", \"FLY\"]\n",
                      "berth.conf:2: berth.runtime.default_capabilities: unknown capability "
                      "\"FLY\""},
        BadConfigCase{"sysctl", "[berth.runtime]\ndefault_sysctls = [\"net.ipv4.ip_forward\"]\n",
                      "berth.conf:2: berth.runtime.default_sysctls: \"net.ipv4.ip_forward\" is "
                      "not of the form name=value"},
        BadConfigCase{"cdi_spec_dir", "[berth.runtime]\ncdi_spec_dirs = [\"/etc/cdi\", \"cdi\"]\n",
                      "berth.conf:2: berth.runtime.cdi_spec_dirs: must be an absolute path, not "
                      "\"cdi\""},
        BadConfigCase{"log_level", "[berth]\nlog_level = \"chatty\"\n",
                      "berth.conf:2: berth.log_level: must be one of trace, debug, info, warn, "
                      "error, fatal, off, not \"chatty\""},
        BadConfigCase{"log_target", "[berth]\nlog_target = \"syslog\"\n",
                      "berth.conf:2: berth.log_target: must be one of \"stderr\", \"journald\", "
                      "not \"syslog\""},
        BadConfigCase{"mirror_url",
                      "[berth.image.mirrors]\n\"registry.k8s.io\" = [\"127.0.0.1:5000\"]\n",
                      "berth.conf:2: berth.image.mirrors.registry.k8s.io: mirror "
                      "\"127.0.0.1:5000\" must start with http:// or https://"},
        BadConfigCase{"insecure_registry_scheme",
                      "[berth.image]\ninsecure_registries = [\"http://127.0.0.1:5000\"]\n",
                      "berth.conf:2: berth.image.insecure_registries: \"http://127.0.0.1:5000\" "
                      "must be a host[:port], without scheme or path"},
        BadConfigCase{"pinned_image_pattern", "[berth.image]\npinned_images = [\"a*b\"]\n",
                      "berth.conf:2: berth.image.pinned_images: \"a*b\" must be a name, "
                      "\"prefix*\" or \"*keyword*\""},
        BadConfigCase{"image_volumes", "[berth.image]\nimage_volumes = \"copy\"\n",
                      "berth.conf:2: berth.image.image_volumes: must be one of \"mkdir\", "
                      "\"bind\", \"ignore\", not \"copy\""},
        BadConfigCase{"metrics_port", "[berth.metrics]\nport = 0\n",
                      "berth.conf:2: berth.metrics.port: must be between 1 and 65535, not 0"},
        BadConfigCase{"grpc_size", "[berth.api]\ngrpc_max_recv_msg_size = 0\n",
                      "berth.conf:2: berth.api.grpc_max_recv_msg_size: must be between 1 and "
                      "2147483647, not 0"},
        BadConfigCase{"unclaimed_result_timeout", "[berth.api]\nunclaimed_result_timeout = 0\n",
                      "berth.conf:2: berth.api.unclaimed_result_timeout: must be between 1 and "
                      "86400, not 0"}),
    [](const testing::TestParamInfo<BadConfigCase>& param_info) { return param_info.param.name; });

TEST(ConfigSerialize, TomlRoundTripsToTheSameConfig) {
    TempDir dir;
    dir.write("berth.conf",
              "[berth]\nlog_level = \"debug\"\n[berth.image.mirrors]\n\"docker.io\" = "
              "[\"http://127.0.0.1:5000\"]\n[berth.runtime.runtimes.kata]\nruntime_path = "
              "\"/usr/bin/kata\"\nruntime_type = \"vm\"\n");
    const config::Config original = config::load(options_in(dir));
    TempDir second;
    second.write("berth.conf", config::to_toml(original));
    const config::Config reloaded = config::load(options_in(second));
    EXPECT_EQ(config::changed_keys(original, reloaded), std::vector<std::string>{});
    EXPECT_EQ(reloaded.image.mirrors.at("docker.io").front(), "http://127.0.0.1:5000");
}

TEST(ConfigSerialize, ChangedKeysListsDottedPaths) {
    TempDir dir;
    config::Config before = config::load(options_in(dir));
    config::Config after = before;
    after.log_level = "debug";
    after.api.stream_port = 1234;
    after.runtime.runtimes["extra"] = {};
    EXPECT_EQ(config::changed_keys(before, after),
              (std::vector<std::string>{"berth.log_level", "berth.api.stream_port",
                                        "berth.runtime.runtimes.extra"}));
}

TEST(ConfigSerialize, JsonHasEveryTable) {
    TempDir dir;
    const auto json = config::to_json(config::load(options_in(dir)));
    for (const char* table : {"api", "runtime", "image", "network", "metrics"}) {
        EXPECT_TRUE(json["berth"].contains(table)) << table;
    }
    EXPECT_EQ(json["berth"]["runtime"]["cgroup_manager"], "cgroupfs");
}
