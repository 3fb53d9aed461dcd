// Pod sandboxes on a real berthd with the real CNI plugins (bridge,
// host-local, loopback, portmap). Each test gets its own CNI directory,
// bridge, subnet and IPAM directory, and removes them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "mount_cleanup.hpp"
#include "test_network.hpp"

namespace v1 = runtime::v1;
using berth::test::BerthdInstance;
using berth::test::BerthdOptions;
using berth::test::deadline_context;
using berth::test::read_file;
using berth::test::run_command;
using berth::test::TestNetwork;
using namespace std::chrono_literals;

namespace {

class SandboxTest : public testing::Test {
protected:
    void SetUp() override {
        berthd_ = std::make_unique<BerthdInstance>();
        write_network(network_.conflist(ipam_dir()));
        ASSERT_TRUE(berthd_->start()) << berthd_->log();
        stub_ = berthd_->runtime();
    }

    void TearDown() override {
        // Remove whatever a failed test left, through the daemon, so that
        // CNI DEL releases addresses and port mappings.
        if (stub_ && berthd_->process().running()) {
            for (const auto& pod : list()) {
                remove(pod.id());
            }
        }
        stub_.reset();
        berthd_.reset();
    }

    std::string ipam_dir() const { return berthd_->dir() / "ipam"; }
    void write_network(const std::string& content) {
        berthd_->dir().write("net.d/10-test.conflist", content);
    }

    static v1::PodSandboxConfig pod_config(const std::string& name) {
        v1::PodSandboxConfig config;
        config.mutable_metadata()->set_name(name);
        config.mutable_metadata()->set_namespace_("default");
        config.mutable_metadata()->set_uid("uid-" + name);
        (*config.mutable_labels())["app"] = name;
        return config;
    }

    grpc::Status run(const v1::PodSandboxConfig& config, std::string* id,
                     const std::string& handler = "") {
        v1::RunPodSandboxRequest request;
        *request.mutable_config() = config;
        request.set_runtime_handler(handler);
        v1::RunPodSandboxResponse response;
        auto status = stub_->RunPodSandbox(deadline_context(60s).get(), request, &response);
        *id = response.pod_sandbox_id();
        return status;
    }

    std::string run_ok(const v1::PodSandboxConfig& config) {
        std::string id;
        auto status = run(config, &id);
        EXPECT_TRUE(status.ok()) << status.error_message() << "\n" << berthd_->log();
        return id;
    }

    v1::PodSandboxStatusResponse status(const std::string& id, grpc::Status* result = nullptr) {
        v1::PodSandboxStatusRequest request;
        request.set_pod_sandbox_id(id);
        request.set_verbose(true);
        v1::PodSandboxStatusResponse response;
        auto status = stub_->PodSandboxStatus(deadline_context().get(), request, &response);
        if (result != nullptr) {
            *result = status;
        } else {
            EXPECT_TRUE(status.ok()) << status.error_message();
        }
        return response;
    }

    nlohmann::json info(const std::string& id) {
        return nlohmann::json::parse(status(id).info().at("info"));
    }

    std::vector<v1::PodSandbox> list(const v1::PodSandboxFilter& filter = {}) {
        v1::ListPodSandboxRequest request;
        *request.mutable_filter() = filter;
        v1::ListPodSandboxResponse response;
        EXPECT_TRUE(stub_->ListPodSandbox(deadline_context().get(), request, &response).ok());
        return {response.items().begin(), response.items().end()};
    }

    grpc::Status stop(const std::string& id) {
        v1::StopPodSandboxRequest request;
        request.set_pod_sandbox_id(id);
        v1::StopPodSandboxResponse response;
        return stub_->StopPodSandbox(deadline_context(60s).get(), request, &response);
    }

    grpc::Status remove(const std::string& id) {
        v1::RemovePodSandboxRequest request;
        request.set_pod_sandbox_id(id);
        v1::RemovePodSandboxResponse response;
        return stub_->RemovePodSandbox(deadline_context(60s).get(), request, &response);
    }

    // host-local keeps one file per allocated address.
    int allocated_addresses() const { return network_.allocated_addresses(ipam_dir()); }

    std::vector<std::string> mounts() const {
        return berth::test::mounts_below(berthd_->dir().path().string());
    }

    TestNetwork network_;
    std::unique_ptr<BerthdInstance> berthd_;
    std::unique_ptr<v1::RuntimeService::Stub> stub_;
};

}  // namespace

TEST_F(SandboxTest, LifecycleWithRealNetworking) {
    const std::string id = run_ok(pod_config("web"));
    ASSERT_EQ(id.size(), 64u);

    const auto response = status(id);
    EXPECT_EQ(response.status().state(), v1::SANDBOX_READY);
    EXPECT_EQ(response.status().metadata().name(), "web");
    EXPECT_GT(response.status().created_at(), 0);
    EXPECT_GT(response.timestamp(), 0);
    const std::string ip = response.status().network().ip();
    EXPECT_EQ(ip.rfind(network_.subnet_prefix, 0), 0u) << ip;
    EXPECT_EQ(allocated_addresses(), 1);

    // The pinned namespace holds the address on eth0 and has lo up.
    const std::string netns = info(id)["netns"];
    auto addresses = run_command("nsenter --net=" + netns + " ip -o addr show");
    EXPECT_NE(addresses.output.find("eth0"), std::string::npos) << addresses.output;
    EXPECT_NE(addresses.output.find(ip + "/24"), std::string::npos) << addresses.output;
    auto loopback = run_command("nsenter --net=" + netns + " ip -o link show lo");
    EXPECT_NE(loopback.output.find("UP"), std::string::npos) << loopback.output;

    // Prefix lookups work as crictl users expect.
    EXPECT_EQ(status(id.substr(0, 12)).status().id(), id);

    ASSERT_TRUE(stop(id).ok());
    EXPECT_EQ(status(id).status().state(), v1::SANDBOX_NOTREADY);
    EXPECT_EQ(allocated_addresses(), 0);
    ASSERT_TRUE(stop(id).ok()) << "stop is idempotent";

    ASSERT_TRUE(remove(id).ok());
    grpc::Status result;
    status(id, &result);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_TRUE(remove(id).ok()) << "remove is idempotent";
    EXPECT_TRUE(stop(id).ok()) << "stopping a removed pod succeeds";
    EXPECT_EQ(mounts(), std::vector<std::string>{});
    EXPECT_FALSE(std::filesystem::exists(berthd_->dir() / ("root/sandboxes/" + id)));
}

TEST_F(SandboxTest, TwoPodsGetDistinctAddressesAndReachEachOther) {
    const std::string a = run_ok(pod_config("a"));
    const std::string b = run_ok(pod_config("b"));
    const std::string ip_a = status(a).status().network().ip();
    const std::string ip_b = status(b).status().network().ip();
    EXPECT_NE(ip_a, ip_b);
    const std::string netns_a = info(a)["netns"];
    auto ping = run_command("nsenter --net=" + netns_a + " busybox ping -c 1 -W 3 " + ip_b);
    EXPECT_EQ(ping.exit_code, 0) << ping.output;
}

TEST_F(SandboxTest, ListFiltersByIdStateAndLabels) {
    const std::string a = run_ok(pod_config("alpha"));
    const std::string b = run_ok(pod_config("beta"));
    ASSERT_TRUE(stop(b).ok());
    EXPECT_EQ(list().size(), 2u);

    v1::PodSandboxFilter by_label;
    (*by_label.mutable_label_selector())["app"] = "alpha";
    auto found = list(by_label);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].id(), a);

    v1::PodSandboxFilter by_state;
    by_state.mutable_state()->set_state(v1::SANDBOX_NOTREADY);
    found = list(by_state);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].id(), b);

    v1::PodSandboxFilter by_prefix;
    by_prefix.set_id(a.substr(0, 10));
    found = list(by_prefix);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].metadata().name(), "alpha");
}

TEST_F(SandboxTest, HostPortMappingsComeAndGo) {
    auto config = pod_config("ports");
    auto* port = config.add_port_mappings();
    const int host_port = 20000 + network_.octet;
    port->set_host_port(host_port);
    port->set_container_port(80);
    port->set_protocol(v1::TCP);
    const std::string id = run_ok(config);
    const std::string rule = "--dport " + std::to_string(host_port);
    EXPECT_NE(run_command("iptables -t nat -S").output.find(rule), std::string::npos);
    ASSERT_TRUE(stop(id).ok());
    EXPECT_EQ(run_command("iptables -t nat -S").output.find(rule), std::string::npos);
}

TEST_F(SandboxTest, DnsHostnameAndSysctls) {
    auto config = pod_config("dns");
    config.set_hostname("dns-host");
    config.mutable_dns_config()->add_servers("10.96.0.10");
    config.mutable_dns_config()->add_searches("default.svc.cluster.local");
    config.mutable_dns_config()->add_options("ndots:5");
    (*config.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "0";
    const std::string id = run_ok(config);
    const auto details = info(id);
    EXPECT_EQ(read_file(details["resolvConf"]),
              "search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
    auto uts = run_command("nsenter --uts=" + details["utsns"].get<std::string>() + " hostname");
    EXPECT_EQ(uts.output, "dns-host\n");
    auto sysctl = run_command("nsenter --net=" + details["netns"].get<std::string>() +
                              " cat /proc/sys/net/ipv4/ip_unprivileged_port_start");
    EXPECT_EQ(sysctl.output, "0\n");
    EXPECT_NE(read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start"), "0\n");
    // The pod's /dev/shm is a tmpfs of its own.
    const std::string shm = details["shm"];
    const auto all_mounts = mounts();
    EXPECT_NE(std::find(all_mounts.begin(), all_mounts.end(), shm), all_mounts.end());
}

// kubelet leaves the hostname empty for some pods, and a pod name may be
// longer than a hostname can be: such a pod gets the node's hostname, as
// with CRI-O and containerd. A hostname that cannot be one is refused.
TEST_F(SandboxTest, PodWithoutHostnameGetsTheNodes) {
    auto config = pod_config("create-PodSandbox-for-container-8cb15858-bacc-4227-a917-796a56852");
    ASSERT_GT(config.metadata().name().size(), 64u);
    config.clear_hostname();
    const std::string id = run_ok(config);
    const auto details = info(id);
    const auto node = run_command("hostname");
    auto uts = run_command("nsenter --uts=" + details["utsns"].get<std::string>() + " hostname");
    EXPECT_EQ(uts.output, node.output);
    EXPECT_EQ(read_file(details["hostnameFile"]), node.output);

    std::string refused_id;
    for (const std::string& bad : {std::string(65, 'h'), std::string("two\nlines"),
                                   std::string("under_score"), std::string("-dash")}) {
        config = pod_config("badhost");
        config.set_hostname(bad);
        const auto result = run(config, &refused_id);
        EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
        EXPECT_NE(result.error_message().find("config.hostname"), std::string::npos)
            << result.error_message();
    }
    config = pod_config("longest");
    config.set_hostname(std::string(64, 'h'));
    run_ok(config);
    EXPECT_EQ(list().size(), 2u);  // nothing left by the refused ones
}

TEST_F(SandboxTest, HostNetworkPodGetsNoNamespaceAndNoAddress) {
    auto config = pod_config("hostnet");
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
        v1::NODE);
    const std::string id = run_ok(config);
    const auto response = status(id);
    EXPECT_EQ(response.status().state(), v1::SANDBOX_READY);
    EXPECT_EQ(response.status().network().ip(), "");
    EXPECT_EQ(info(id)["netns"], "");
    EXPECT_EQ(allocated_addresses(), 0);
}

TEST_F(SandboxTest, BadRequestsGetClearErrors) {
    std::string id;
    auto config = pod_config("bad");
    config.mutable_metadata()->clear_uid();
    auto result = run(config, &id);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(result.error_message().find("config.metadata.uid is required"), std::string::npos)
        << result.error_message();

    result = run(pod_config("handler"), &id, "gvisor");
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(result.error_message().find("runtime handler \"gvisor\" is not configured"),
              std::string::npos);

    config = pod_config("node-wide");
    (*config.mutable_linux()->mutable_sysctls())["kernel.panic"] = "1";
    result = run(config, &id);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(result.error_message().find("not namespaced"), std::string::npos);

    config = pod_config("hostnet-sysctl");
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
        v1::NODE);
    (*config.mutable_linux()->mutable_sysctls())["net.core.somaxconn"] = "1024";
    result = run(config, &id);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

    // What would land in resolv.conf or the portmap plugin's rules is
    // checked first: a newline would be a resolv.conf line of its own.
    const auto refused = [&](const v1::PodSandboxConfig& bad, const std::string& field) {
        const auto status = run(bad, &id);
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
        EXPECT_NE(status.error_message().find(field), std::string::npos)
            << status.error_message();
    };
    config = pod_config("dns");
    config.mutable_dns_config()->add_servers("10.0.0.1\nnameserver 6.6.6.6");
    refused(config, "config.dns_config.servers[0]");
    config = pod_config("dns");
    config.mutable_dns_config()->add_searches("ok.example");
    config.mutable_dns_config()->add_searches("evil\nnameserver 6.6.6.6");
    refused(config, "config.dns_config.searches[1]");
    config = pod_config("dns");
    config.mutable_dns_config()->add_options("ndots:5 attempts:9");
    refused(config, "config.dns_config.options[0]");
    for (const auto& [container_port, host_port, protocol, field] :
         {std::tuple{0, 0, 0, "container_port"}, std::tuple{70000, 0, 0, "container_port"},
          std::tuple{80, -1, 0, "host_port"}, std::tuple{80, 70000, 0, "host_port"},
          std::tuple{80, 8080, 99, "protocol"}}) {
        config = pod_config("ports");
        auto* mapping = config.add_port_mappings();
        mapping->set_container_port(container_port);
        mapping->set_host_port(host_port);
        mapping->set_protocol(static_cast<v1::Protocol>(protocol));
        refused(config, std::string("config.port_mappings[0].") + field);
    }
    config = pod_config("sysctl-value");
    (*config.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "0\n1";
    refused(config, "config.linux.sysctls");
    // A 10 KB value is cut in the message: the client gets the error, not
    // RESOURCE_EXHAUSTED for a header beyond gRPC's limit.
    config = pod_config("huge-dns");
    config.mutable_dns_config()->add_searches(std::string(10000, 'x') + " y");
    const auto huge = run(config, &id);
    EXPECT_EQ(huge.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << huge.error_message();
    EXPECT_LT(huge.error_message().size(), 1000u);

    const std::string first = run_ok(pod_config("twice"));
    result = run(pod_config("twice"), &id);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_NE(result.error_message().find(first), std::string::npos) << result.error_message();

    grpc::Status lookup;
    status("ffffffffffff", &lookup);
    EXPECT_EQ(lookup.error_code(), grpc::StatusCode::NOT_FOUND);
    status("not-an-id", &lookup);
    EXPECT_EQ(lookup.error_code(), grpc::StatusCode::NOT_FOUND);
    // Nothing was left by the refused requests.
    EXPECT_EQ(list().size(), 1u);
}

TEST_F(SandboxTest, FailingPluginUndoesEverything) {
    nlohmann::json broken = nlohmann::json::parse(network_.conflist(ipam_dir()));
    broken["plugins"].push_back({{"type", "no-such-plugin-berth"}});
    write_network(broken.dump());
    std::string id;
    const auto result = run(pod_config("broken"), &id);
    EXPECT_FALSE(result.ok());
    EXPECT_NE(result.error_message().find("no-such-plugin-berth"), std::string::npos)
        << result.error_message();
    EXPECT_EQ(list().size(), 0u);
    EXPECT_EQ(mounts(), std::vector<std::string>{});
    EXPECT_EQ(allocated_addresses(), 0);

    // The name is free again once the network works.
    write_network(network_.conflist(ipam_dir()));
    EXPECT_FALSE(run_ok(pod_config("broken")).empty());
}

TEST_F(SandboxTest, PodsSurviveADaemonCrash) {
    std::map<std::string, std::string> addresses;
    for (const char* name : {"one", "two", "three"}) {
        const std::string id = run_ok(pod_config(name));
        addresses[id] = status(id).status().network().ip();
    }
    stub_.reset();
    ASSERT_TRUE(berthd_->crash_and_restart()) << berthd_->log();
    stub_ = berthd_->runtime();
    const auto pods = list();
    ASSERT_EQ(pods.size(), 3u);
    for (const auto& pod : pods) {
        EXPECT_EQ(pod.state(), v1::SANDBOX_READY);
        EXPECT_EQ(status(pod.id()).status().network().ip(), addresses.at(pod.id()));
    }
    for (const auto& pod : pods) {
        EXPECT_TRUE(stop(pod.id()).ok());
        EXPECT_TRUE(remove(pod.id()).ok());
    }
    EXPECT_EQ(mounts(), std::vector<std::string>{});
    EXPECT_EQ(allocated_addresses(), 0);
}

TEST_F(SandboxTest, PodsWhoseNamespacesVanishedComeBackNotReady) {
    // What a reboot does: runroot is emptied while berthd is down.
    const std::string id = run_ok(pod_config("reboot"));
    stub_.reset();
    berthd_->process().signal(SIGKILL);
    berthd_->process().wait_for_exit(10s);
    berth::test::unmount_all_below(berthd_->dir() / "run");
    std::filesystem::remove_all(berthd_->dir() / "run");
    ASSERT_TRUE(berthd_->crash_and_restart()) << berthd_->log();
    stub_ = berthd_->runtime();
    EXPECT_EQ(status(id).status().state(), v1::SANDBOX_NOTREADY);
    // Stop runs CNI DEL from the cached result: the address is released.
    EXPECT_TRUE(stop(id).ok());
    EXPECT_EQ(allocated_addresses(), 0);
    EXPECT_TRUE(remove(id).ok());
}

TEST_F(SandboxTest, BerthctlPodVerbs) {
    const std::string berthctl =
        std::string(BERTHCTL_PATH) + " -r unix://" + berthd_->socket_path() + " ";
    // crictl's pod config format, in YAML with snake_case names.
    const std::string config = berthd_->dir().write("pod.yaml",
                                                    "metadata:\n"
                                                    "  name: cli-pod\n"
                                                    "  namespace: tools\n"
                                                    "  uid: cli-uid\n"
                                                    "  attempt: 1\n"
                                                    "labels:\n"
                                                    "  app: cli\n"
                                                    "dns_config:\n"
                                                    "  servers: [\"10.96.0.10\"]\n"
                                                    "log_directory: /tmp/berth-cli-pod-logs\n");
    auto result = run_command(berthctl + "runp " + config);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const std::string id = result.output.substr(0, result.output.find('\n'));
    ASSERT_EQ(id.size(), 64u) << result.output;

    result = run_command(berthctl + "pods -q --label app=cli");
    EXPECT_EQ(result.output, id + "\n");
    result = run_command(berthctl + "pods --namespace '^tool' --state ready");
    EXPECT_NE(result.output.find(id.substr(0, 13)), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("cli-pod"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("Ready"), std::string::npos) << result.output;
    result = run_command(berthctl + "pods -q --name nothing-matches");
    EXPECT_EQ(result.output, "");
    result = run_command(berthctl + "pods -o json");
    EXPECT_EQ(nlohmann::json::parse(result.output)["items"][0]["metadata"]["name"], "cli-pod");

    result = run_command(berthctl + "inspectp " + id.substr(0, 8));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto inspected = nlohmann::json::parse(result.output);
    EXPECT_EQ(inspected["status"]["state"], "SANDBOX_READY");
    EXPECT_EQ(
        inspected["status"]["network"]["ip"].get<std::string>().rfind(network_.subnet_prefix, 0),
        0u);
    EXPECT_FALSE(inspected["info"]["netns"].get<std::string>().empty());

    result = run_command(berthctl + "stopp " + id);
    EXPECT_EQ(result.output, "Stopped sandbox " + id + "\n");
    result = run_command(berthctl + "rmp -a");
    EXPECT_EQ(result.output, "Removed sandbox " + id + "\n");
    EXPECT_EQ(run_command(berthctl + "pods -q").output, "");

    result = run_command(berthctl + "inspectp " + id);
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.output.find("not found"), std::string::npos) << result.output;
    result = run_command(berthctl + "runp /nonexistent/pod.json");
    EXPECT_EQ(result.exit_code, 1);
}

TEST_F(SandboxTest, PodWidePidNamespaceHasItsOwnInit) {
    auto config = pod_config("pidns");
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::POD);
    const std::string id = run_ok(config);
    const auto details = info(id);
    const int init = details["initPid"];
    ASSERT_GT(init, 0);
    // PID 1 of its own namespace, inside the pod's network namespace.
    const std::string status_text = read_file("/proc/" + std::to_string(init) + "/status");
    EXPECT_NE(status_text.find("NSpid:\t" + std::to_string(init) + "\t1\n"), std::string::npos)
        << status_text;
    const auto inode = [](const std::string& path) {
        struct stat info {};
        EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
        return info.st_ino;
    };
    const std::string proc = "/proc/" + std::to_string(init);
    EXPECT_EQ(inode(proc + "/ns/net"), inode(details["netns"]));
    EXPECT_EQ(inode(proc + "/ns/ipc"), inode(details["ipcns"]));
    // The pinned PID namespace is the init's, and not the host's.
    EXPECT_EQ(inode(proc + "/ns/pid"), inode(details["pidns"]));
    EXPECT_NE(inode(proc + "/ns/pid"), inode("/proc/self/ns/pid"));
    EXPECT_EQ(read_file(proc + "/comm"), "berth-pod-init\n");

    ASSERT_TRUE(stop(id).ok());
    EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(init) + "/exe"))
        << "the init is gone after StopPodSandbox";
    ASSERT_TRUE(remove(id).ok());
    EXPECT_EQ(mounts(), std::vector<std::string>{});

    // CONTAINER (kubelet's default) starts no init.
    auto plain = pod_config("no-pidns");
    plain.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::CONTAINER);
    EXPECT_EQ(info(run_ok(plain))["initPid"], 0);
}

TEST_F(SandboxTest, CrashDuringRunPodSandboxLeavesNothingAfterRestart) {
    // A plugin that blocks until released, after the bridge and host-local
    // have already given the pod an address.
    const std::string plugins = berthd_->dir() / "plugins";
    const std::string started = berthd_->dir() / "slow-started";
    const std::string release = berthd_->dir() / "slow-release";
    const std::string script =
        berthd_->dir().write("plugins/berth-slow",
                             "#!/bin/sh\n"
                             "if [ \"$CNI_COMMAND\" = ADD ]; then\n"
                             "  touch " +
                                 started +
                                 "\n"
                                 "  i=0; while [ ! -e " +
                                 release +
                                 " ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\n"
                                 "fi\n"
                                 "echo '{\"cniVersion\":\"1.0.0\"}'\n");
    chmod(script.c_str(), 0755);
    auto network = nlohmann::json::parse(network_.conflist(ipam_dir()));
    network["plugins"].insert(network["plugins"].begin() + 1,
                              nlohmann::json::object({{"type", "berth-slow"}}));
    write_network(network.dump());
    berthd_->dir().write("berth.conf.d/50-plugins.conf", "[berth.network]\nplugin_dirs = [\"" +
                                                             plugins + "\", \"/usr/lib/cni\"]\n");
    stub_.reset();
    ASSERT_TRUE(berthd_->crash_and_restart()) << berthd_->log();
    stub_ = berthd_->runtime();

    grpc::Status interrupted;
    std::thread runner([&] {
        auto stub = berthd_->runtime();
        v1::RunPodSandboxRequest request;
        *request.mutable_config() = pod_config("interrupted");
        v1::RunPodSandboxResponse response;
        // Fails when berthd dies under it.
        interrupted = stub->RunPodSandbox(deadline_context(30s).get(), request, &response);
    });
    for (int i = 0; i < 400 && !std::filesystem::exists(started); ++i) {
        std::this_thread::sleep_for(25ms);
    }
    if (!std::filesystem::exists(started)) {
        runner.join();
        FAIL() << "the slow plugin never ran: " << interrupted.error_message() << "\n"
               << berthd_->log();
    }
    EXPECT_EQ(allocated_addresses(), 1);
    stub_.reset();
    berthd_->process().signal(SIGKILL);
    berthd_->process().wait_for_exit(10s);
    runner.join();
    berthd_->dir().write("slow-release", "");

    ASSERT_TRUE(berthd_->crash_and_restart()) << berthd_->log();
    stub_ = berthd_->runtime();
    EXPECT_EQ(list().size(), 0u);
    EXPECT_EQ(mounts(), std::vector<std::string>{});
    EXPECT_EQ(allocated_addresses(), 0) << "restore ran CNI DEL for the half-made pod";
    EXPECT_NE(berthd_->log().find("was being created when berthd stopped"), std::string::npos);
    // Its name is free.
    EXPECT_FALSE(run_ok(pod_config("interrupted")).empty());
}

TEST_F(SandboxTest, PodProcessesGoBelowTheCgroupParent) {
    const std::string parent =
        "/berth-test-" + std::to_string(getpid()) + "-" + std::to_string(network_.octet);
    const auto roots = [] {
        std::vector<std::string> found;
        for (const char* root :
             {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpuset",
              "/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
            if (std::filesystem::exists(std::string(root) + "/cgroup.procs")) {
                found.push_back(root);
            }
        }
        return found;
    }();
    ASSERT_FALSE(roots.empty());
    struct ParentCleanup {
        std::vector<std::string> dirs;
        ~ParentCleanup() {
            for (const auto& dir : dirs) {
                rmdir((dir + "/pod1").c_str());
                rmdir(dir.c_str());
            }
        }
    } cleanup;
    for (const auto& root : roots) {
        cleanup.dirs.push_back(root + parent);
    }

    auto config = pod_config("cgroups");
    config.mutable_linux()->set_cgroup_parent(parent + "/pod1");
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::POD);
    const std::string id = run_ok(config);
    const auto details = info(id);
    const int init = details["initPid"];
    const std::string own = parent + "/pod1/berth-" + id;
    EXPECT_EQ(details["cgroup"], own);
    for (const auto& root : roots) {
        EXPECT_EQ(read_file(root + own + "/cgroup.procs"), std::to_string(init) + "\n") << root;
    }
    ASSERT_TRUE(remove(id).ok());
    for (const auto& root : roots) {
        EXPECT_FALSE(std::filesystem::exists(root + own)) << root;
        EXPECT_TRUE(std::filesystem::exists(root + parent + "/pod1")) << "kubelet's parent stays";
    }

    config.mutable_linux()->set_cgroup_parent("relative/path");
    std::string ignored;
    EXPECT_EQ(run(config, &ignored).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}
