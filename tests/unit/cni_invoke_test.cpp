// The CNI plugin runner against fake plugins (shell scripts that record what
// they were given), and network list loading.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "network/cni_invoke.hpp"
#include "temp_dir.hpp"

using namespace berth::daemon::network;
using berth::test::TempDir;

namespace {

// A plugin that saves its stdin and environment, then prints `result`
// (ADD) or nothing (DEL), or fails with a CNI error when told to.
std::string fake_plugin(const TempDir& dir, const std::string& name, const std::string& result) {
    const std::string path = dir.write("plugins/" + name,
                                       "#!/bin/sh\n"
                                       "cat > \"" +
                                           (dir / "calls") + "/$CNI_COMMAND-" + name +
                                           ".json\"\n"
                                           "env | grep ^CNI_ | sort > \"" +
                                           (dir / "calls") + "/$CNI_COMMAND-" + name +
                                           ".env\"\n"
                                           "echo \"$CNI_COMMAND " +
                                           name + "\" >> \"" + (dir / "calls") +
                                           "/order\"\n"
                                           "if [ \"$CNI_COMMAND\" = ADD ]; then echo '" +
                                           result + "'; fi\n");
    chmod(path.c_str(), 0755);
    return path;
}

std::string failing_plugin(const TempDir& dir, const std::string& name) {
    const std::string path =
        dir.write("plugins/" + name,
                  "#!/bin/sh\n"
                  "echo \"$CNI_COMMAND " +
                      name + "\" >> \"" + (dir / "calls") +
                      "/order\"\n"
                      "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"no more addresses\","
                      "\"details\":\"range full\"}'\nexit 1\n");
    chmod(path.c_str(), 0755);
    return path;
}

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

CniInvocation invocation(const TempDir& dir) {
    CniInvocation call;
    call.container_id = "abc";
    call.netns = "/run/berth/netns/abc";
    call.args = "IgnoreUnknown=1;K8S_POD_NAME=web";
    call.plugin_dirs = {dir / "empty", dir / "plugins"};
    call.capability_args["portMappings"] = nlohmann::json::array(
        {{{"hostPort", 8080}, {"containerPort", 80}, {"protocol", "tcp"}, {"hostIP", ""}}});
    call.capability_args["dns"] = {{"servers", {"10.96.0.10"}}};
    return call;
}

const nlohmann::json kNetwork = {
    {"cniVersion", "1.0.0"},
    {"name", "test-net"},
    {"plugins",
     {{{"type", "first"}, {"setting", 1}},
      {{"type", "second"}, {"capabilities", {{"portMappings", true}, {"bandwidth", true}}}}}},
};

}  // namespace

TEST(CniInvoke, AddChainsResultsAndPassesTheEnvironment) {
    TempDir dir;
    std::filesystem::create_directories(dir / "calls");
    fake_plugin(dir, "first", R"({"cniVersion":"1.0.0","ips":[{"address":"10.1.0.5/24"}]})");
    fake_plugin(
        dir, "second",
        R"({"cniVersion":"1.0.0","ips":[{"address":"10.1.0.5/24"},{"address":"fd00::5/64"}]})");
    const auto result = cni_add(kNetwork, invocation(dir));
    EXPECT_EQ(cni_result_ips(result), (std::vector<std::string>{"10.1.0.5", "fd00::5"}));
    EXPECT_EQ(read_text(dir / "calls/order"), "ADD first\nADD second\n");

    const auto first = read_json(dir / "calls/ADD-first.json");
    EXPECT_EQ(first["name"], "test-net");
    EXPECT_EQ(first["cniVersion"], "1.0.0");
    EXPECT_EQ(first["setting"], 1);
    EXPECT_FALSE(first.contains("prevResult"));
    EXPECT_FALSE(first.contains("runtimeConfig"));  // it declared no capability

    const auto second = read_json(dir / "calls/ADD-second.json");
    EXPECT_EQ(second["prevResult"]["ips"][0]["address"], "10.1.0.5/24");
    EXPECT_EQ(second["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
    EXPECT_FALSE(second["runtimeConfig"].contains("dns"));        // not declared
    EXPECT_FALSE(second["runtimeConfig"].contains("bandwidth"));  // declared, not given
    EXPECT_FALSE(second.contains("capabilities"));

    const std::string env = read_text(dir / "calls/ADD-first.env");
    EXPECT_NE(env.find("CNI_COMMAND=ADD\n"), std::string::npos) << env;
    EXPECT_NE(env.find("CNI_CONTAINERID=abc\n"), std::string::npos);
    EXPECT_NE(env.find("CNI_NETNS=/run/berth/netns/abc\n"), std::string::npos);
    EXPECT_NE(env.find("CNI_IFNAME=eth0\n"), std::string::npos);
    EXPECT_NE(env.find("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=web\n"), std::string::npos);
    EXPECT_NE(env.find("CNI_PATH=" + (dir / "empty") + ":" + (dir / "plugins") + "\n"),
              std::string::npos);
}

TEST(CniInvoke, DelRunsInReverseWithTheCachedResultAndPastFailures) {
    TempDir dir;
    std::filesystem::create_directories(dir / "calls");
    fake_plugin(dir, "first", "{}");
    failing_plugin(dir, "second");
    const nlohmann::json cached = {{"cniVersion", "1.0.0"},
                                   {"ips", {{{"address", "10.1.0.5/24"}}}}};
    try {
        cni_del(kNetwork, cached, invocation(dir));
        FAIL() << "expected the second plugin's failure";
    } catch (const std::runtime_error& error) {
        EXPECT_EQ(std::string(error.what()),
                  "CNI plugin second DEL failed: no more addresses: range full");
    }
    // The first plugin still ran, after the second.
    EXPECT_EQ(read_text(dir / "calls/order"), "DEL second\nDEL first\n");
    EXPECT_EQ(read_json(dir / "calls/DEL-first.json")["prevResult"], cached);
}

// berthd brings lo up itself: a loopback plugin after another one would
// only pass the result through (ADD) or take down a lo that goes with the
// namespace (DEL), so it is not run; as the first plugin it still is.
TEST(CniInvoke, LoopbackAfterAnotherPluginIsNotRun) {
    TempDir dir;
    std::filesystem::create_directories(dir / "calls");
    fake_plugin(dir, "first", R"({"cniVersion":"1.0.0","ips":[{"address":"10.1.0.5/24"}]})");
    fake_plugin(dir, "loopback", R"({"cniVersion":"1.0.0","ips":[{"address":"127.0.0.1/8"}]})");
    const nlohmann::json chained = {
        {"cniVersion", "1.0.0"},
        {"name", "test-net"},
        {"plugins", {{{"type", "first"}}, {{"type", "loopback"}}}},
    };
    const auto result = cni_add(chained, invocation(dir));
    EXPECT_EQ(cni_result_ips(result), (std::vector<std::string>{"10.1.0.5"}));
    cni_del(chained, result, invocation(dir));
    EXPECT_EQ(read_text(dir / "calls/order"), "ADD first\nDEL first\n");

    const nlohmann::json alone = {
        {"cniVersion", "1.0.0"},
        {"name", "lo-only"},
        {"plugins", {{{"type", "loopback"}}}},
    };
    EXPECT_EQ(cni_result_ips(cni_add(alone, invocation(dir))),
              (std::vector<std::string>{"127.0.0.1"}));
    EXPECT_EQ(read_text(dir / "calls/order"), "ADD first\nDEL first\nADD loopback\n");
}

TEST(CniInvoke, AddStopsAtTheFirstFailureAndNamesIt) {
    TempDir dir;
    std::filesystem::create_directories(dir / "calls");
    failing_plugin(dir, "first");
    fake_plugin(dir, "second", "{}");
    EXPECT_THROW(
        {
            try {
                cni_add(kNetwork, invocation(dir));
            } catch (const std::runtime_error& error) {
                EXPECT_NE(std::string(error.what()).find("CNI plugin first ADD failed"),
                          std::string::npos);
                throw;
            }
        },
        std::runtime_error);
    EXPECT_EQ(read_text(dir / "calls/order"), "ADD first\n");

    nlohmann::json missing = kNetwork;
    missing["plugins"][0]["type"] = "nowhere";
    try {
        cni_add(missing, invocation(dir));
        FAIL();
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("CNI plugin \"nowhere\" not found in"),
                  std::string::npos);
    }
    missing["plugins"][0]["type"] = "../../bin/sh";
    EXPECT_THROW(cni_add(missing, invocation(dir)), std::runtime_error);
}

TEST(CniInvoke, SlowPluginIsKilledAtTheTimeout) {
    TempDir dir;
    const auto path = dir.write("plugins/slow", "#!/bin/sh\nsleep 30\n");
    chmod(path.c_str(), 0755);
    auto call = invocation(dir);
    call.timeout = std::chrono::seconds(1);
    nlohmann::json network = {{"name", "n"}, {"plugins", {{{"type", "slow"}}}}};
    const auto started = std::chrono::steady_clock::now();
    EXPECT_THROW(cni_add(network, call), std::runtime_error);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(CniNetworkLoading, FirstValidFileInLexicalOrder) {
    TempDir dir;
    dir.write("net.d/05-broken.conflist", "{not json");
    dir.write("net.d/06-noplugins.conflist", R"({"name":"x","plugins":[]})");
    dir.write("net.d/20-later.conflist", R"({"name":"later","plugins":[{"type":"bridge"}]})");
    dir.write("net.d/10-single.conf", R"({"cniVersion":"0.4.0","name":"single","type":"bridge"})");
    dir.write("net.d/00-ignored.txt", R"({"name":"txt","plugins":[{"type":"bridge"}]})");
    const auto network = load_cni_network(dir / "net.d");
    EXPECT_EQ(network["name"], "single");
    EXPECT_EQ(network["cniVersion"], "0.4.0");
    ASSERT_EQ(network["plugins"].size(), 1u);
    EXPECT_EQ(network["plugins"][0]["type"], "bridge");

    EXPECT_THROW(load_cni_network(dir / "missing"), std::runtime_error);
}

TEST(CniNetworkLoading, ShippedBridgeConfigIsValid) {
    const auto network = load_cni_network(BERTH_SOURCE_DIR "/contrib/cni");
    EXPECT_EQ(network["name"], "berth");
    ASSERT_EQ(network["plugins"].size(), 3u);
    EXPECT_EQ(network["plugins"][0]["bridge"], "berth0");
    // MACHINE.md: pod traffic is never routed off the machine by default.
    EXPECT_EQ(network["plugins"][0]["isGateway"], false);
}

TEST(CniResults, Versions040And100) {
    const auto v040 = nlohmann::json::parse(
        R"({"cniVersion":"0.4.0","ips":[{"version":"6","address":"fd00::2/64"},{"version":"4","address":"10.0.0.2/24","gateway":"10.0.0.1"}]})");
    EXPECT_EQ(cni_result_ips(v040), (std::vector<std::string>{"10.0.0.2", "fd00::2"}));
    const auto v100 = nlohmann::json::parse(
        R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"ips":[{"address":"10.0.0.3/16","interface":0}]})");
    EXPECT_EQ(cni_result_ips(v100), std::vector<std::string>{"10.0.0.3"});
    EXPECT_TRUE(cni_result_ips(nlohmann::json::object()).empty());
    EXPECT_TRUE(cni_result_ips(nullptr).empty());
}

TEST(CniInvoke, PluginThatIgnoresItsStdinDoesNotKillTheCaller) {
    // The config is larger than a pipe's buffer, so the write must meet the
    // closed pipe (EPIPE): reported as the plugin's failure, no SIGPIPE.
    TempDir dir;
    const auto path = dir.write("plugins/deaf", "#!/bin/sh\nexit 3\n");
    chmod(path.c_str(), 0755);
    nlohmann::json network = {
        {"name", "n"},
        {"plugins", {{{"type", "deaf"}, {"padding", std::string(512 * 1024, 'x')}}}}};
    try {
        cni_add(network, invocation(dir));
        FAIL() << "expected the plugin's failure";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("exit status 3"), std::string::npos)
            << error.what();
    }
}

TEST(CniInvoke, PluginsInheritOnlyTheirStdio) {
    TempDir dir;
    std::filesystem::create_directories(dir / "calls");
    // A descriptor the caller left inheritable must not reach the plugin.
    // A high number, so that it cannot be confused with one ls opens itself.
    const int opened = open("/dev/null", O_RDONLY);
    ASSERT_GE(opened, 0);
    const int leaky = dup2(opened, 100);
    close(opened);
    ASSERT_EQ(leaky, 100);
    const auto path = dir.write("plugins/fds",
                                "#!/bin/sh\n"
                                "ls /proc/self/fd > \"" +
                                    (dir / "calls/fds") +
                                    "\"\n"
                                    "echo '{\"cniVersion\":\"1.0.0\"}'\n");
    chmod(path.c_str(), 0755);
    nlohmann::json network = {{"name", "n"}, {"plugins", {{{"type", "fds"}}}}};
    cni_add(network, invocation(dir));
    close(leaky);
    // ls's own view: its stdio, the output file on 1, and the directory it
    // is reading; nothing numbered like the caller's descriptor.
    const std::string fds = read_text(dir / "calls/fds");
    std::istringstream list(fds);
    std::string fd;
    while (list >> fd) {
        EXPECT_NE(std::stoi(fd), leaky) << fds;
    }
}
