// berthctl and berthd's own subcommands, run as processes the way an
// operator runs them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"

using berth::test::BerthdInstance;
using berth::test::run_command;

namespace {

std::string berthctl(const BerthdInstance& berthd, const std::string& arguments) {
    return std::string(BERTHCTL_PATH) + " -r unix://" + berthd.socket_path() + " " + arguments;
}

}  // namespace

TEST(Berthctl, VersionPrintsBerthAndV1) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    const auto result = run_command(berthctl(berthd, "version"));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("RuntimeName:  berth\n"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("RuntimeApiVersion:  v1\n"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("Version:  0.1.0\n"), std::string::npos) << result.output;
}

TEST(Berthctl, VersionAsJsonAndYaml) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    auto result = run_command(berthctl(berthd, "version -o json"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto json = nlohmann::json::parse(result.output);
    EXPECT_EQ(json["runtimeName"], "berth");
    EXPECT_EQ(json["runtimeApiVersion"], "v1");

    result = run_command(berthctl(berthd, "version -o yaml"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("runtimeName: berth"), std::string::npos) << result.output;
}

TEST(Berthctl, InfoShowsConditionsAndConfig) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    auto result = run_command(berthctl(berthd, "info"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto info = nlohmann::json::parse(result.output);
    ASSERT_EQ(info["status"]["conditions"].size(), 2u);
    EXPECT_EQ(info["status"]["conditions"][0]["type"], "RuntimeReady");
    EXPECT_EQ(info["status"]["conditions"][1]["reason"], "NetworkPluginNotReady");
    EXPECT_EQ(info["config"]["berth"]["runroot"], berthd.dir() / "run");

    result = run_command(berthctl(berthd, "info -o yaml"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("type: RuntimeReady"), std::string::npos) << result.output;
}

TEST(Berthctl, EndpointFromTheEnvironment) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    const auto result = run_command("CONTAINER_RUNTIME_ENDPOINT=unix://" + berthd.socket_path() +
                                    " " + BERTHCTL_PATH + " version");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("RuntimeName:  berth"), std::string::npos);
}

TEST(Berthctl, ClearErrorsForBadUse) {
    berth::test::TempDir dir;
    auto result = run_command(std::string(BERTHCTL_PATH) + " -r unix://" + (dir / "none.sock") +
                              " --timeout 1s version");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.output.find("Version: cannot reach unix://" + (dir / "none.sock")),
              std::string::npos)
        << result.output;

    result = run_command(std::string(BERTHCTL_PATH) + " -r tcp://127.0.0.1:1 version");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.output.find("is not supported"), std::string::npos) << result.output;

    result = run_command(std::string(BERTHCTL_PATH) + " -r /x.sock version -o xml");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.output.find("unsupported output format \"xml\""), std::string::npos)
        << result.output;

    result = run_command(std::string(BERTHCTL_PATH) + " -r /x.sock --timeout soon version");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.output.find("timeout \"soon\""), std::string::npos) << result.output;

    result = run_command(std::string(BERTHCTL_PATH) + " frobnicate");
    EXPECT_NE(result.exit_code, 0);
}

// updatep is UpdatePodSandboxResources (crictl has no such command): the
// flags reach berthd, and its answer for an unknown pod is shown.
TEST(Berthctl, UpdatepCallsUpdatePodSandboxResources) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    const std::string ctl = std::string(BERTHCTL_PATH) + " -r unix://" + berthd.socket_path();
    auto result = run_command(ctl + " updatep --memory 67108864 --cpu-quota 50000 nosuchpod");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.output.find("UpdatePodSandboxResources: "), std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find("nosuchpod"), std::string::npos) << result.output;

    result = run_command(ctl + " updatep --memory lots nosuchpod");
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("--memory"), std::string::npos) << result.output;
}

TEST(BerthdCommand, ConfigPrintsTheEffectiveTomlWhichLoadsAgain) {
    berth::test::TempDir dir;
    dir.write("berth.conf", "[berth]\nroot = \"/srv/b\"\n");
    dir.write("conf.d/10.conf", "[berth.api]\nstream_port = 10010\n");
    const std::string flags =
        " --config " + (dir / "berth.conf") + " --config-dir " + (dir / "conf.d");
    auto result = run_command(std::string(BERTHD_PATH) + " config" + flags + " --runroot /srv/run");
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("root = \"/srv/b\""), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("stream_port = 10010"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("listen = \"/srv/run/berth.sock\""), std::string::npos)
        << result.output;

    // What `berthd config` prints is itself a valid configuration file.
    dir.write("printed.conf", result.output);
    result = run_command(std::string(BERTHD_PATH) + " config --config " + (dir / "printed.conf") +
                         " --config-dir " + (dir / "empty.d"));
    EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(BerthdCommand, ConfigReportsErrorsWithFileAndLine) {
    berth::test::TempDir dir;
    const auto file = dir.write("berth.conf", "[berth]\nroot = \"/ok\"\nrunroot = 5\n");
    const auto result = run_command(std::string(BERTHD_PATH) + " config --config " + file +
                                    " --config-dir " + (dir / "none"));
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(result.output,
              "berthd: " + file + ":3: berth.runroot: expected a string, found an integer\n");
}

TEST(BerthdCommand, VersionAndUsage) {
    auto result = run_command(std::string(BERTHD_PATH) + " version");
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_NE(result.output.find("berthd version 0.1.0"), std::string::npos) << result.output;
    result = run_command(std::string(BERTHD_PATH) + " --no-such-flag");
    EXPECT_NE(result.exit_code, 0);
}
