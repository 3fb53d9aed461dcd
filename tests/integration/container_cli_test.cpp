// berthctl's container verbs against a real berthd, runc and a real registry,
// run as an operator runs them: create (pulling the image), start, ps,
// inspect, logs, update, stop, rm, and run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

using berth::test::BerthdInstance;
using berth::test::run_command;
using berth::test::TempDir;
using berth::test::TestRegistry;

namespace {

std::string berthctl(const BerthdInstance& berthd, const std::string& arguments) {
    return std::string(BERTHCTL_PATH) + " -r unix://" + berthd.socket_path() + " -t 30s " +
           arguments + " 2>&1";
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

TEST(BerthctlContainers, LifecycleFromTheCommandLine) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    TempDir files;
    const std::string pod_file = files.write(
        "pod.yaml",
        "metadata:\n  name: clipod\n  namespace: default\n  uid: cli-uid\nlog_directory: " +
            (berthd.dir() / "logs/clipod") +
            "\nlinux:\n  security_context:\n    namespace_options:\n      network: 2\n");
    const std::string container_file = files.write(
        "container.json",
        nlohmann::json{{"metadata", {{"name", "talker"}}},
                       {"image", {{"image", registry.host() + "/busybox:multi"}}},
                       {"command", {"sh", "-c", "echo one; echo two; echo oops >&2; sleep 1000"}},
                       {"log_path", "talker.log"}}
            .dump());

    auto result = run_command(berthctl(berthd, "runp " + pod_file));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const std::string pod = trimmed(result.output);
    // create pulls the image it lacks.
    result = run_command(berthctl(berthd, "create " + pod + " " + container_file + " " + pod_file));
    ASSERT_EQ(result.exit_code, 0) << result.output << berthd.log();
    const std::string id = trimmed(result.output);
    ASSERT_EQ(id.size(), 64u) << result.output;
    EXPECT_EQ(trimmed(run_command(berthctl(berthd, "ps -q")).output), "");  // created, not running
    EXPECT_EQ(trimmed(run_command(berthctl(berthd, "ps -a -q")).output), id);
    ASSERT_EQ(run_command(berthctl(berthd, "start " + id.substr(0, 12))).exit_code, 0);

    result = run_command(berthctl(berthd, "ps"));
    EXPECT_NE(result.output.find("CONTAINER"), std::string::npos);
    EXPECT_NE(result.output.find(id.substr(0, 13)), std::string::npos);
    EXPECT_NE(result.output.find("Running"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("talker"), std::string::npos);
    EXPECT_EQ(
        trimmed(
            run_command(berthctl(berthd, "ps -q --name talk --pod " + pod.substr(0, 8))).output),
        id);
    EXPECT_EQ(trimmed(run_command(berthctl(berthd, "ps -q --name nomatch")).output), "");

    result = run_command(berthctl(berthd, "inspect " + id));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto inspected = nlohmann::json::parse(result.output);
    EXPECT_EQ(inspected.at("status").at("state"), "CONTAINER_RUNNING");
    EXPECT_GT(inspected.at("info").at("pid").get<int>(), 0);

    // Logs: both streams, --tail, --timestamps.
    // stdout only: stderr lines go to berthctl's stderr.
    result = run_command("(" + std::string(BERTHCTL_PATH) + " -r unix://" + berthd.socket_path() +
                         " logs " + id + " 2>/dev/null)");
    EXPECT_EQ(result.output, "one\ntwo\n");
    result = run_command(berthctl(berthd, "logs " + id));
    EXPECT_NE(result.output.find("oops"), std::string::npos) << result.output;
    // --tail counts lines of both streams: the last two are "two" and "oops".
    result = run_command("(" + std::string(BERTHCTL_PATH) + " -r unix://" + berthd.socket_path() +
                         " logs --tail 2 " + id + " 2>/dev/null)");
    EXPECT_EQ(result.output, "two\n");
    result = run_command(berthctl(berthd, "logs -t " + id));
    EXPECT_NE(result.output.find("Z one"), std::string::npos) << result.output;

    result = run_command(berthctl(berthd, "update --memory 67108864 " + id));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    result = run_command(berthctl(berthd, "inspect " + id));
    EXPECT_EQ(nlohmann::json::parse(result.output)
                  .at("status")
                  .at("resources")
                  .at("linux")
                  .at("memoryLimitInBytes"),
              "67108864");

    result = run_command(berthctl(berthd, "rm " + id));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("is running"), std::string::npos) << result.output;
    ASSERT_EQ(run_command(berthctl(berthd, "stop -t 1 " + id)).exit_code, 0);
    EXPECT_EQ(nlohmann::json::parse(run_command(berthctl(berthd, "inspect " + id)).output)
                  .at("status")
                  .at("exitCode"),
              143);
    ASSERT_EQ(run_command(berthctl(berthd, "rm " + id)).exit_code, 0);
    EXPECT_EQ(trimmed(run_command(berthctl(berthd, "ps -a -q")).output), "");

    // run: a new pod and a running container in one go; rm -a -f clears it.
    const std::string pod2_file = files.write(
        "pod2.json",
        nlohmann::json{
            {"metadata", {{"name", "runpod"}, {"namespace", "default"}, {"uid", "run-uid"}}},
            {"linux", {{"security_context", {{"namespace_options", {{"network", 2}}}}}}}}
            .dump());
    result = run_command(berthctl(berthd, "run " + container_file + " " + pod2_file));
    ASSERT_EQ(result.exit_code, 0) << result.output << berthd.log();
    EXPECT_EQ(trimmed(run_command(berthctl(berthd, "ps -q")).output), trimmed(result.output));
    ASSERT_EQ(run_command(berthctl(berthd, "rm -a -f")).exit_code, 0);
    EXPECT_EQ(trimmed(run_command(berthctl(berthd, "ps -a -q")).output), "");
    EXPECT_EQ(run_command(berthctl(berthd, "rmp -a -f")).exit_code, 0);
    // --all with nothing left is a success, as with crictl; no ids is not.
    EXPECT_EQ(run_command(berthctl(berthd, "rmp -a")).exit_code, 0);
    EXPECT_EQ(run_command(berthctl(berthd, "rm -a")).exit_code, 0);
    EXPECT_EQ(run_command(berthctl(berthd, "rm")).exit_code, 1);
}

}  // namespace
