// Container Device Interface specs: parsing (JSON and YAML, every supported
// version), what makes a file unusable, priority across spec directories,
// and the edits a device makes to an OCI spec.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "container/spec/cdi_edits.hpp"
#include "container/spec/cdi_registry.hpp"
#include "container/spec/cdi_spec.hpp"
#include "temp_dir.hpp"

namespace berth::daemon::container::cdi {
namespace {

using nlohmann::json;

std::string json_spec(const std::string& version, const std::string& kind = "example.com/gpu",
                      const std::string& device = "one") {
    return R"({"cdiVersion": ")" + version + R"(", "kind": ")" + kind +
           R"(", "devices": [{"name": ")" + device +
           R"(", "containerEdits": {"deviceNodes": [{"path": "/dev/null"}]}}],
             "containerEdits": {"env": ["FROM_SPEC=1"]}})";
}

std::string yaml_spec(const std::string& version, const std::string& kind = "example.com/gpu",
                      const std::string& device = "one") {
    return "cdiVersion: \"" + version + "\"\nkind: " + kind + "\ndevices:\n- name: " + device +
           "\n  containerEdits:\n    deviceNodes:\n    - path: /dev/null\n"
           "containerEdits:\n  env: [FROM_SPEC=1]\n";
}

std::string message_of(const std::string& text, SpecFormat format) {
    try {
        parse_spec(text, format, "/etc/cdi/test");
    } catch (const SpecFileError& error) {
        return error.what();
    }
    return "";
}

// --- parsing -----------------------------------------------------------------

class EachVersion : public testing::TestWithParam<const char*> {};

TEST_P(EachVersion, JsonSpecParses) {
    const Spec spec = parse_spec(json_spec(GetParam()), SpecFormat::Json, "/etc/cdi/a.json");
    EXPECT_EQ(spec.version, GetParam());
    EXPECT_EQ(spec.kind, "example.com/gpu");
    EXPECT_EQ(spec.path, "/etc/cdi/a.json");
    ASSERT_EQ(spec.devices.size(), 1u);
    EXPECT_EQ(spec.devices[0].name, "one");
    ASSERT_EQ(spec.devices[0].edits.device_nodes.size(), 1u);
    EXPECT_EQ(spec.devices[0].edits.device_nodes[0].path, "/dev/null");
    EXPECT_EQ(spec.edits.env, std::vector<std::string>{"FROM_SPEC=1"});
}

TEST_P(EachVersion, YamlSpecParses) {
    const Spec spec = parse_spec(yaml_spec(GetParam()), SpecFormat::Yaml, "/etc/cdi/a.yaml");
    EXPECT_EQ(spec.version, GetParam());
    EXPECT_EQ(spec.kind, "example.com/gpu");
    ASSERT_EQ(spec.devices.size(), 1u);
    EXPECT_EQ(spec.devices[0].edits.device_nodes.at(0).path, "/dev/null");
    EXPECT_EQ(spec.edits.env, std::vector<std::string>{"FROM_SPEC=1"});
}

INSTANTIATE_TEST_SUITE_P(CdiSpec, EachVersion, testing::Values("0.5.0", "0.6.0", "0.7.0", "0.8.0"));

TEST(CdiSpec, YamlReadsEveryEditWithYamlScalars) {
    const std::string text = R"(cdiVersion: 0.7.0
kind: vendor.example/fpga.v2
annotations:
  owner: test
devices:
- name: "0"
  annotations: {slot: "1"}
  containerEdits:
    env: ["A=1", "B=two=2"]
    deviceNodes:
    - path: /dev/fpga0
      hostPath: /dev/null
      type: c
      major: 1
      minor: 3
      fileMode: 0666
      permissions: rw
      uid: 1000
      gid: 0x10
    mounts:
    - hostPath: /usr/lib/fpga
      containerPath: /opt/fpga
      type: bind
      options: [ro, nosuid, rbind]
    hooks:
    - hookName: createContainer
      path: /usr/bin/fpga-hook
      args: [fpga-hook, --setup]
      env: [HOOK=1]
      timeout: 5
    additionalGids: [44, 0]
    intelRdt:
      closID: fpga
      enableMBM: true
)";
    const Spec spec = parse_spec(text, SpecFormat::Yaml, "x.yaml");
    ASSERT_EQ(spec.devices.size(), 1u);
    EXPECT_EQ(spec.devices[0].name, "0");
    const auto& edits = spec.devices[0].edits;
    EXPECT_EQ(edits.env, (std::vector<std::string>{"A=1", "B=two=2"}));
    ASSERT_EQ(edits.device_nodes.size(), 1u);
    const auto& node = edits.device_nodes[0];
    EXPECT_EQ(node.host_path, "/dev/null");
    EXPECT_EQ(node.type, "c");
    EXPECT_EQ(node.major, 1);
    EXPECT_EQ(node.minor, 3);
    EXPECT_EQ(node.file_mode, 0666u);  // YAML 1.1 octal, as vendors' tools write it
    EXPECT_EQ(node.permissions, "rw");
    EXPECT_EQ(node.uid, 1000u);
    EXPECT_EQ(node.gid, 16u);
    ASSERT_EQ(edits.mounts.size(), 1u);
    EXPECT_EQ(edits.mounts[0].container_path, "/opt/fpga");
    EXPECT_EQ(edits.mounts[0].type, "bind");
    EXPECT_EQ(edits.mounts[0].options, (std::vector<std::string>{"ro", "nosuid", "rbind"}));
    ASSERT_EQ(edits.hooks.size(), 1u);
    EXPECT_EQ(edits.hooks[0].hook_name, "createContainer");
    EXPECT_EQ(edits.hooks[0].args, (std::vector<std::string>{"fpga-hook", "--setup"}));
    EXPECT_EQ(edits.hooks[0].timeout, 5);
    EXPECT_EQ(edits.additional_gids, (std::vector<std::uint32_t>{44, 0}));
    ASSERT_TRUE(edits.intel_rdt.has_value());
    EXPECT_EQ(edits.intel_rdt->clos_id, "fpga");
    EXPECT_TRUE(edits.intel_rdt->enable_mbm);
}

struct BadSpecCase {
    const char* name;
    SpecFormat format;
    std::string text;
    std::string message;  // a part of the error
};

class BadSpec : public testing::TestWithParam<BadSpecCase> {};

TEST_P(BadSpec, IsRefusedNamingTheField) {
    const auto& param = GetParam();
    const std::string message = message_of(param.text, param.format);
    EXPECT_NE(message.find(param.message), std::string::npos)
        << "message: " << message << "\nexpected: " << param.message;
}

const std::string kDevice = R"("devices": [{"name": "d", "containerEdits": {"env": ["A=1"]}}])";

INSTANTIATE_TEST_SUITE_P(
    CdiSpec, BadSpec,
    testing::Values(
        BadSpecCase{"json_syntax", SpecFormat::Json, "{\"cdiVersion\": ", "not valid JSON"},
        BadSpecCase{"yaml_syntax", SpecFormat::Yaml, "cdiVersion: [0.6.0\nkind: a/b\n",
                    "not valid YAML"},
        BadSpecCase{"not_an_object", SpecFormat::Yaml, "- 1\n- 2\n", "must be an object"},
        BadSpecCase{"old_version", SpecFormat::Json,
                    R"({"cdiVersion": "0.2.0", "kind": "a.com/b", )" + kDevice + "}",
                    "cdiVersion: \"0.2.0\" is not a supported version"},
        BadSpecCase{"newer_version", SpecFormat::Json,
                    R"({"cdiVersion": "1.1.0", "kind": "a.com/b", )" + kDevice + "}",
                    "cdiVersion: \"1.1.0\" is not a supported version"},
        BadSpecCase{"missing_version", SpecFormat::Json, R"({"kind": "a.com/b", )" + kDevice + "}",
                    "cdiVersion: is missing"},
        BadSpecCase{"kind_without_class", SpecFormat::Json,
                    R"({"cdiVersion": "0.6.0", "kind": "vendor", )" + kDevice + "}",
                    "kind: \"vendor\" is not of the form vendor.com/class"},
        BadSpecCase{"kind_bad_vendor", SpecFormat::Json,
                    R"({"cdiVersion": "0.6.0", "kind": "-v.com/b", )" + kDevice + "}",
                    "kind: vendor \"-v.com\" must start with a letter"},
        BadSpecCase{"kind_two_slashes", SpecFormat::Json,
                    R"({"cdiVersion": "0.6.0", "kind": "v.com/b/c", )" + kDevice + "}",
                    "kind: class \"b/c\" may only hold"},
        BadSpecCase{"dot_in_class_before_0_6", SpecFormat::Json,
                    R"({"cdiVersion": "0.5.0", "kind": "v.com/b.c", )" + kDevice + "}",
                    "is too old for a '.' in the class of kind (needs 0.6.0)"},
        BadSpecCase{"host_path_before_0_5", SpecFormat::Json,
                    R"({"cdiVersion": "0.4.0", "kind": "v.com/b", "devices": [{"name": "d",
                        "containerEdits": {"deviceNodes": [{"path": "/dev/x", "hostPath": "/dev/y"}]}}]})",
                    "devices[0].containerEdits.deviceNodes[0].hostPath (needs 0.5.0)"},
        BadSpecCase{"gids_before_0_7", SpecFormat::Yaml,
                    "cdiVersion: 0.6.0\nkind: v.com/b\ndevices:\n- name: d\n  containerEdits:\n"
                    "    additionalGids: [5]\n",
                    "(needs 0.7.0)"},
        BadSpecCase{"relative_device_path", SpecFormat::Yaml,
                    "cdiVersion: 0.6.0\nkind: v.com/b\ndevices:\n- name: d\n  containerEdits:\n"
                    "    deviceNodes:\n    - path: dev/x\n",
                    "devices[0].containerEdits.deviceNodes[0].path: \"dev/x\" must be an "
                    "absolute path"},
        BadSpecCase{"dotdot_mount", SpecFormat::Yaml,
                    "cdiVersion: 0.6.0\nkind: v.com/b\ndevices:\n- name: d\n  containerEdits:\n"
                    "    mounts:\n    - {hostPath: /usr/../etc, containerPath: /x}\n",
                    "devices[0].containerEdits.mounts[0].hostPath: \"/usr/../etc\""},
        BadSpecCase{
            "control_character_hook", SpecFormat::Json,
            R"({"cdiVersion": "0.6.0", "kind": "v.com/b", )" + kDevice +
                R"(, "containerEdits": {"hooks": [{"hookName": "poststop", "path": "/bin/x\ny"}]}})",
            "containerEdits.hooks[0].path: \"/bin/x\\x0ay\""},
        BadSpecCase{
            "hook_name", SpecFormat::Json,
            R"({"cdiVersion": "0.6.0", "kind": "v.com/b", )" + kDevice +
                R"(, "containerEdits": {"hooks": [{"hookName": "prestop", "path": "/bin/x"}]}})",
            "containerEdits.hooks[0].hookName: \"prestop\" is not one of"},
        BadSpecCase{"unknown_field", SpecFormat::Json,
                    R"({"cdiVersion": "0.6.0", "kind": "v.com/b", )" + kDevice +
                        R"(, "containerEdit": {}})",
                    "containerEdit: is not a CDI field"},
        BadSpecCase{"device_twice", SpecFormat::Yaml,
                    "cdiVersion: 0.6.0\nkind: v.com/b\ndevices:\n"
                    "- {name: d, containerEdits: {env: [A=1]}}\n"
                    "- {name: d, containerEdits: {env: [A=2]}}\n",
                    "devices[1].name: \"d\" is defined twice"},
        BadSpecCase{"no_devices", SpecFormat::Json,
                    R"({"cdiVersion": "0.6.0", "kind": "v.com/b", "devices": []})",
                    "devices: a spec needs at least one device"},
        BadSpecCase{"empty_device", SpecFormat::Json,
                    R"({"cdiVersion": "0.6.0", "kind": "v.com/b", "devices": [{"name": "d"}]})",
                    "devices[0].containerEdits: a device needs at least one edit"},
        BadSpecCase{"bad_device_name", SpecFormat::Json,
                    R"({"cdiVersion": "0.6.0", "kind": "v.com/b", "devices": [{"name": "a b",
                        "containerEdits": {"env": ["A=1"]}}]})",
                    "devices[0].name: \"a b\" may only hold"},
        BadSpecCase{"env_without_equals", SpecFormat::Json,
                    R"({"cdiVersion": "0.6.0", "kind": "v.com/b", "devices": [{"name": "d",
                        "containerEdits": {"env": ["JUSTNAME"]}}]})",
                    "devices[0].containerEdits.env[0]: \"JUSTNAME\" is not NAME=value"},
        BadSpecCase{"permissions", SpecFormat::Yaml,
                    "cdiVersion: 0.6.0\nkind: v.com/b\ndevices:\n- name: d\n  containerEdits:\n"
                    "    deviceNodes:\n    - {path: /dev/x, permissions: rwx}\n",
                    "permissions: \"rwx\" may only hold r, w and m"},
        BadSpecCase{"uid_range", SpecFormat::Yaml,
                    "cdiVersion: 0.6.0\nkind: v.com/b\ndevices:\n- name: d\n  containerEdits:\n"
                    "    deviceNodes:\n    - {path: /dev/x, uid: -1}\n",
                    "deviceNodes[0].uid: must be between 0 and 4294967295, not -1"},
        BadSpecCase{"major_not_a_number", SpecFormat::Yaml,
                    "cdiVersion: 0.6.0\nkind: v.com/b\ndevices:\n- name: d\n  containerEdits:\n"
                    "    deviceNodes:\n    - {path: /dev/x, major: one}\n",
                    "deviceNodes[0].major: must be an integer"}),
    [](const testing::TestParamInfo<BadSpecCase>& param_info) {
        return std::string(param_info.param.name);
    });

TEST(CdiSpec, QualifiedNames) {
    const auto good = parse_qualified_name("nvidia.com/gpu=0");
    EXPECT_EQ(good.kind, "nvidia.com/gpu");
    EXPECT_EQ(good.name, "0");
    EXPECT_EQ(good.problem, "");
    EXPECT_EQ(parse_qualified_name("vendor.com/class=a:b.c").name, "a:b.c");
    for (const char* bad : {"gpu0", "nvidia.com/gpu", "gpu=0", "nvidia.com/=0",
                            "nvidia.com/gpu=", "/dev/null", "v.com/a/b=0", "v.com/c=x y"}) {
        const auto parsed = parse_qualified_name(bad);
        EXPECT_EQ(parsed.kind, "") << bad;
        EXPECT_NE(parsed.problem.find("is not a fully qualified CDI device name"),
                  std::string::npos)
            << bad << ": " << parsed.problem;
    }
}

// --- the registry ------------------------------------------------------------

TEST(CdiRegistry, LaterDirectoryWinsAndBrokenFilesAreSkipped) {
    test::TempDir dir;
    dir.write("low/vendor.json", json_spec("0.6.0", "example.com/gpu", "one"));
    dir.write("low/other.yaml", yaml_spec("0.6.0", "example.com/gpu", "two"));
    dir.write("high/vendor.yml",
              "cdiVersion: 0.6.0\nkind: example.com/gpu\ndevices:\n"
              "- {name: one, containerEdits: {env: [WINNER=high]}}\n");
    dir.write("high/broken.yaml", "cdiVersion: [\n");
    dir.write("high/invalid.json", json_spec("0.6.0", "nokind"));
    dir.write("high/README", "not a spec");
    const auto registry = Registry::load({dir / "low", dir / "high", dir / "does-not-exist"});
    EXPECT_EQ(registry.size(), 2u);
    const auto* one = registry.find("example.com/gpu=one");
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->spec->path, dir / "high/vendor.yml");
    EXPECT_EQ(one->device->edits.env, std::vector<std::string>{"WINNER=high"});
    const auto* two = registry.find("example.com/gpu=two");
    ASSERT_NE(two, nullptr);
    EXPECT_EQ(two->spec->path, dir / "low/other.yaml");
    EXPECT_EQ(registry.find("example.com/gpu=three"), nullptr);
    ASSERT_EQ(registry.skipped().size(), 2u);
    EXPECT_NE(registry.skipped()[0].find(dir / "high/broken.yaml"), std::string::npos);
    EXPECT_NE(registry.skipped()[1].find("kind: \"nokind\""), std::string::npos);
}

TEST(CdiRegistry, DeviceDefinedTwiceInOneDirectoryIsNotUsed) {
    test::TempDir dir;
    dir.write("low/a.json", json_spec("0.6.0", "example.com/gpu", "one"));
    dir.write("high/a.json", json_spec("0.6.0", "example.com/gpu", "one"));
    dir.write("high/b.yaml", yaml_spec("0.6.0", "example.com/gpu", "one"));
    dir.write("high/c.yaml", yaml_spec("0.6.0", "example.com/gpu", "other"));
    const auto registry = Registry::load({dir / "low", dir / "high"});
    EXPECT_EQ(registry.find("example.com/gpu=one"), nullptr);
    EXPECT_NE(registry.find("example.com/gpu=other"), nullptr);
    ASSERT_EQ(registry.skipped().size(), 1u);
    EXPECT_EQ(registry.skipped()[0], "CDI device example.com/gpu=one skipped: defined by both " +
                                         (dir / "high/a.json") + " and " + (dir / "high/b.yaml"));
}

TEST(CdiRegistry, ChangedAndRemovedFilesAreSeen) {
    test::TempDir dir;
    dir.write("cdi/a.json", json_spec("0.6.0", "example.com/gpu", "one"));
    EXPECT_NE(Registry::load({dir / "cdi"}).find("example.com/gpu=one"), nullptr);
    // Rewritten in place, as an editor would: parsed again.
    dir.write("cdi/a.json", json_spec("0.6.0", "example.com/gpu", "renamed"));
    auto registry = Registry::load({dir / "cdi"});
    EXPECT_EQ(registry.find("example.com/gpu=one"), nullptr);
    EXPECT_NE(registry.find("example.com/gpu=renamed"), nullptr);
    std::filesystem::remove(dir / "cdi/a.json");
    EXPECT_EQ(Registry::load({dir / "cdi"}).size(), 0u);
}

// --- edits -------------------------------------------------------------------

json minimal_oci_spec() {
    return {
        {"process",
         {{"user", {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10}}}},
          {"env", json::array({"PATH=/bin", "MODE=old"})}}},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/opt/data/sub"}, {"type", "bind"}, {"source", "/x"}},
          {{"destination", "/opt/data"}, {"type", "bind"}, {"source", "/old"}}}},
        {"linux",
         {{"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
          {"devices", {{{"path", "/dev/cdi0"}, {"type", "c"}, {"major", 9}, {"minor", 9}}}}}},
    };
}

TEST(CdiEdits, ApplyToAnOciSpec) {
    ContainerEdits edits;
    edits.env = {"MODE=cdi", "EXTRA=1"};
    DeviceNode null_node;
    null_node.path = "/dev/cdi0";
    null_node.host_path = "/dev/null";
    DeviceNode read_only;
    read_only.path = "/dev/cdi1";
    read_only.host_path = "/dev/zero";
    read_only.permissions = "r";
    read_only.uid = 0;
    edits.device_nodes = {null_node, read_only};
    edits.mounts = {{"/usr/share", "/opt/data", "", {"rbind", "ro"}},
                    {"/tmp", "/a", "bind", {"bind"}}};
    edits.hooks = {{"createRuntime", "/usr/bin/h", {"h", "x"}, {}, 3},
                   {"poststop", "/usr/bin/p", {}, {"P=1"}, std::nullopt}};
    edits.additional_gids = {44, 0, 10};

    json spec = minimal_oci_spec();
    apply_edits(edits, spec);

    EXPECT_EQ(spec["process"]["env"], json::array({"PATH=/bin", "MODE=cdi", "EXTRA=1"}));
    const json& devices = spec["linux"]["devices"];
    ASSERT_EQ(devices.size(), 2u);  // /dev/cdi0 replaced, not doubled
    struct stat null_info {};
    ASSERT_EQ(stat("/dev/null", &null_info), 0);
    EXPECT_EQ(devices[0]["path"], "/dev/cdi0");
    EXPECT_EQ(devices[0]["type"], "c");
    EXPECT_EQ(devices[0]["major"], major(null_info.st_rdev));
    EXPECT_EQ(devices[0]["minor"], minor(null_info.st_rdev));
    EXPECT_EQ(devices[0]["fileMode"], null_info.st_mode & 07777);
    EXPECT_EQ(devices[0]["uid"], 1000);  // the process user's when the spec names none
    EXPECT_EQ(devices[1]["uid"], 0);
    const json& rules = spec["linux"]["resources"]["devices"];
    ASSERT_EQ(rules.size(), 3u);
    EXPECT_EQ(rules[1]["access"], "rwm");
    EXPECT_EQ(rules[1]["major"], major(null_info.st_rdev));
    EXPECT_EQ(rules[2]["access"], "r");

    std::vector<std::string> destinations;
    for (const auto& m : spec["mounts"]) {
        destinations.push_back(m["destination"]);
    }
    EXPECT_EQ(destinations,
              (std::vector<std::string>{"/proc", "/a", "/opt/data", "/opt/data/sub"}));
    const json& data = spec["mounts"][2];
    EXPECT_EQ(data["source"], "/usr/share");
    EXPECT_FALSE(data.contains("type"));
    EXPECT_EQ(spec["mounts"][1]["type"], "bind");

    EXPECT_EQ(
        spec["hooks"]["createRuntime"],
        json::array({{{"path", "/usr/bin/h"}, {"args", json::array({"h", "x"})}, {"timeout", 3}}}));
    EXPECT_EQ(spec["hooks"]["poststop"],
              json::array({{{"path", "/usr/bin/p"}, {"env", json::array({"P=1"})}}}));
    EXPECT_EQ(spec["process"]["user"]["additionalGids"], json::array({10, 44}));
}

TEST(CdiEdits, MissingHostNodeFailsUnlessFullySpecified) {
    DeviceNode missing;
    missing.path = "/dev/berth-no-such-device";
    json spec = minimal_oci_spec();
    ContainerEdits edits;
    edits.device_nodes = {missing};
    try {
        apply_edits(edits, spec);
        FAIL() << "a missing host node was accepted";
    } catch (const EditError& error) {
        EXPECT_NE(std::string(error.what()).find("cannot stat /dev/berth-no-such-device"),
                  std::string::npos)
            << error.what();
    }

    missing.type = "c";
    missing.major = 240;
    missing.minor = 7;
    missing.permissions = "none";
    edits.device_nodes = {missing};
    apply_edits(edits, spec);
    const json& node = spec["linux"]["devices"].back();
    EXPECT_EQ(node["major"], 240);
    EXPECT_EQ(node["minor"], 7);
    EXPECT_FALSE(node.contains("fileMode"));
    EXPECT_EQ(spec["linux"]["resources"]["devices"].size(), 1u);  // "none": no cgroup rule
}

TEST(CdiEdits, HostNodeOfAnotherTypeIsRefused) {
    DeviceNode node;
    node.path = "/dev/x";
    node.host_path = "/dev/null";
    node.type = "b";
    ContainerEdits edits;
    edits.device_nodes = {node};
    json spec = minimal_oci_spec();
    EXPECT_THROW(apply_edits(edits, spec), EditError);
    node.host_path = "/etc/passwd";
    node.type = "";
    edits.device_nodes = {node};
    EXPECT_THROW(apply_edits(edits, spec), EditError);
}

}  // namespace
}  // namespace berth::daemon::container::cdi
