// Pod sandbox pieces that need no namespaces: records, names, lookups,
// sysctl rules, the pod's files, list filters.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <functional>

#include "sandbox/pod_cgroup.hpp"
#include "sandbox/pod_files.hpp"
#include "sandbox/pod_network_checks.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/sandbox_namespaces.hpp"
#include "sandbox/sandbox_store.hpp"
#include "sandbox/sandbox_task_spec.hpp"
#include "sandbox/sysctls.hpp"
#include "server/sandbox_conversion.hpp"
#include "status_error.hpp"
#include "temp_dir.hpp"

namespace v1 = runtime::v1;
using namespace berth::daemon;
using berth::test::TempDir;

namespace {

sandbox::Sandbox sample(const std::string& id, const std::string& name) {
    sandbox::Sandbox record;
    record.id = id;
    record.config.mutable_metadata()->set_name(name);
    record.config.mutable_metadata()->set_namespace_("default");
    record.config.mutable_metadata()->set_uid("u-" + name);
    record.config.mutable_metadata()->set_attempt(2);
    (*record.config.mutable_labels())["app"] = name;
    record.name = sandbox::sandbox_name(record.config.metadata());
    record.runtime_handler = "runc";
    record.created_at = 1700000000123456789;
    record.state = sandbox::SandboxState::Ready;
    record.netns_path = "/run/berth/netns/" + id;
    record.ip = "10.0.0.5";
    record.additional_ips = {"fd00::5"};
    record.network_attached = true;
    record.cni_result = {{"cniVersion", "1.0.0"}};
    return record;
}

grpc::StatusCode code_of(const std::function<void()>& body) {
    try {
        body();
    } catch (const StatusError& error) {
        return error.code();
    }
    return grpc::StatusCode::OK;
}

}  // namespace

TEST(SandboxRecord, JsonRoundTripKeepsEveryField) {
    const auto record = sample(std::string(64, 'a'), "web");
    EXPECT_EQ(record.name, "k8s_POD_web_default_u-web_2");
    sandbox::Sandbox back;
    sandbox::from_json(nlohmann::json::parse(sandbox::to_json(record).dump()), back);
    EXPECT_EQ(sandbox::to_json(back), sandbox::to_json(record));
    EXPECT_EQ(back.config.labels().at("app"), "web");
    EXPECT_EQ(back.created_at, 1700000000123456789);
    EXPECT_TRUE(back.network_attached);

    sandbox::Sandbox broken;
    auto json = sandbox::to_json(record);
    json["state"] = "exploded";
    EXPECT_THROW(sandbox::from_json(json, broken), std::runtime_error);
    json.erase("state");
    EXPECT_THROW(sandbox::from_json(json, broken), std::runtime_error);
}

TEST(SandboxStore, NamesIdsPrefixesAndPersistence) {
    TempDir dir;
    sandbox::SandboxStore store(dir / "sandboxes");
    const std::string a = "abc" + std::string(61, '1');
    const std::string b = "abd" + std::string(61, '2');
    for (const auto& record : {sample(a, "one"), sample(b, "two")}) {
        store.reserve_name(record.name, record.id);
        store.put(record);
    }
    EXPECT_EQ(code_of([&] { store.reserve_name("k8s_POD_one_default_u-one_2", "x"); }),
              grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(store.resolve("abc"), a);
    EXPECT_EQ(store.resolve(b), b);
    EXPECT_EQ(code_of([&] { store.resolve("ab"); }), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(code_of([&] { store.resolve("ffff"); }), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(code_of([&] { store.resolve("ABC"); }), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(code_of([&] { store.resolve(""); }), grpc::StatusCode::INVALID_ARGUMENT);

    // A second store reads the same records back, names included.
    sandbox::SandboxStore reloaded(dir / "sandboxes");
    dir.write("sandboxes/" + std::string(64, 'e') + "/sandbox.json", "{broken");
    std::vector<std::string> problems;
    reloaded.load(problems);
    EXPECT_EQ(problems.size(), 1u);
    EXPECT_EQ(reloaded.list().size(), 2u);
    EXPECT_EQ(reloaded.get(a)->ip, "10.0.0.5");
    EXPECT_EQ(code_of([&] { reloaded.reserve_name("k8s_POD_two_default_u-two_2", "y"); }),
              grpc::StatusCode::ALREADY_EXISTS);

    reloaded.erase(a);
    EXPECT_EQ(reloaded.get(a), nullptr);
    EXPECT_FALSE(std::filesystem::exists(dir / ("sandboxes/" + a)));
    reloaded.reserve_name("k8s_POD_one_default_u-one_2", "z");  // free again
}

TEST(Sysctls, NamespacedOnesAreSortedIntoTheirNamespace) {
    using sandbox::SysctlNamespace;
    EXPECT_EQ(sandbox::classify_sysctl("net.ipv4.ip_unprivileged_port_start"),
              SysctlNamespace::Net);
    EXPECT_EQ(sandbox::classify_sysctl("net/core/somaxconn"), SysctlNamespace::Net);
    EXPECT_EQ(sandbox::classify_sysctl("kernel.shm_rmid_forced"), SysctlNamespace::Ipc);
    EXPECT_EQ(sandbox::classify_sysctl("fs.mqueue.msg_max"), SysctlNamespace::Ipc);
    EXPECT_EQ(sandbox::classify_sysctl("kernel.hostname"), SysctlNamespace::Uts);
    for (const char* bad : {"kernel.panic", "vm.swappiness", "fs.file-max", "", "net..x",
                            "net.ipv4.conf.all.rp_filter;reboot", "../../etc"}) {
        EXPECT_EQ(code_of([&] { sandbox::classify_sysctl(bad); }),
                  grpc::StatusCode::INVALID_ARGUMENT)
            << bad;
    }
    EXPECT_EQ(sandbox::sysctl_path("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
    EXPECT_EQ(sandbox::sysctl_path("net/core/somaxconn"), "/proc/sys/net/core/somaxconn");
}

TEST(PodFiles, ResolvConfHostnameAndHosts) {
    v1::DNSConfig dns;
    dns.add_servers("10.96.0.10");
    dns.add_servers("8.8.8.8");
    dns.add_searches("ns.svc.cluster.local");
    dns.add_searches("svc.cluster.local");
    dns.add_options("ndots:5");
    EXPECT_EQ(sandbox::resolv_conf_content(&dns),
              "search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\n"
              "nameserver 8.8.8.8\noptions ndots:5\n");
    TempDir dir;
    const auto host = dir.write("resolv.conf", "nameserver 192.0.2.1\n");
    EXPECT_EQ(sandbox::resolv_conf_content(nullptr, host), "nameserver 192.0.2.1\n");
    v1::DNSConfig empty;
    EXPECT_EQ(sandbox::resolv_conf_content(&empty, host), "nameserver 192.0.2.1\n");

    v1::PodSandboxConfig config;
    config.mutable_metadata()->set_name("pod-a");
    char node[256] = {};
    ASSERT_EQ(gethostname(node, sizeof(node) - 1), 0);
    EXPECT_EQ(sandbox::pod_hostname(config), node);  // never the pod name
    EXPECT_EQ(sandbox::node_hostname(), node);
    config.set_hostname("custom");
    EXPECT_EQ(sandbox::pod_hostname(config), "custom");

    for (const char* good : {"a", "pod-a", "web-0.web.default", "A1-b2", "x.y.z"}) {
        EXPECT_EQ(sandbox::hostname_problem(good), "") << good;
    }
    EXPECT_EQ(sandbox::hostname_problem(std::string(64, 'a')), "");
    EXPECT_NE(sandbox::hostname_problem(std::string(65, 'a')), "");
    for (const char* bad : {"-a", "a-", ".a", "a.", "a..b", "a.-b", "a-.b", "a b", "a/b", "a_b",
                            "a\nnameserver 1.2.3.4", "a\tb"}) {
        EXPECT_NE(sandbox::hostname_problem(bad), "") << bad;
    }
    EXPECT_NE(sandbox::hostname_problem(std::string("a\0b", 3)), "");

    const auto hosts = sandbox::hosts_content("custom", "10.1.2.3");
    EXPECT_NE(hosts.find("127.0.0.1\tlocalhost\n"), std::string::npos);
    EXPECT_NE(hosts.find("10.1.2.3\tcustom\n"), std::string::npos);
    EXPECT_EQ(sandbox::hosts_content("custom", "").find("custom"), std::string::npos);
}

TEST(SandboxFilter, AllConditionsMustHold) {
    const auto record = sample("abcdef" + std::string(58, '0'), "web");
    v1::PodSandboxFilter filter;
    EXPECT_TRUE(server::matches(record, filter));
    filter.set_id("abcd");
    EXPECT_TRUE(server::matches(record, filter));
    filter.set_id("abce");
    EXPECT_FALSE(server::matches(record, filter));
    filter.clear_id();
    filter.mutable_state()->set_state(v1::SANDBOX_NOTREADY);
    EXPECT_FALSE(server::matches(record, filter));
    filter.mutable_state()->set_state(v1::SANDBOX_READY);
    EXPECT_TRUE(server::matches(record, filter));
    (*filter.mutable_label_selector())["app"] = "web";
    EXPECT_TRUE(server::matches(record, filter));
    (*filter.mutable_label_selector())["tier"] = "front";
    EXPECT_FALSE(server::matches(record, filter));

    v1::PodSandboxStatus status;
    server::fill_pod_sandbox_status(record, &status);
    EXPECT_EQ(status.network().ip(), "10.0.0.5");
    ASSERT_EQ(status.network().additional_ips_size(), 1);
    EXPECT_EQ(status.network().additional_ips(0).ip(), "fd00::5");
    EXPECT_EQ(status.runtime_handler(), "runc");
}

TEST(PodCgroup, ParentPathsForBothManagers) {
    using berth::config::CgroupManager;
    EXPECT_EQ(sandbox::cgroup_parent_path("/kubepods/burstable/pod1", CgroupManager::Cgroupfs),
              "/kubepods/burstable/pod1");
    EXPECT_EQ(sandbox::cgroup_parent_path("", CgroupManager::Cgroupfs), "");
    EXPECT_EQ(
        sandbox::cgroup_parent_path("kubepods-besteffort-pod123.slice", CgroupManager::Systemd),
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice");
    EXPECT_EQ(sandbox::cgroup_parent_path("kubepods.slice", CgroupManager::Systemd),
              "/kubepods.slice");
    for (const char* bad : {"kubepods/pod1", "/kubepods/../../etc", "/a/.."}) {
        EXPECT_EQ(code_of([&] { sandbox::cgroup_parent_path(bad, CgroupManager::Cgroupfs); }),
                  grpc::StatusCode::INVALID_ARGUMENT)
            << bad;
    }
    for (const char* bad : {"/kubepods", "kubepods", "kube--pods.slice", "-a.slice", "a/b.slice"}) {
        EXPECT_EQ(code_of([&] { sandbox::cgroup_parent_path(bad, CgroupManager::Systemd); }),
                  grpc::StatusCode::INVALID_ARGUMENT)
            << bad;
    }
}

TEST(PodCgroup, HierarchiesAreFoundInMountinfo) {
    const auto roots = sandbox::cgroup_hierarchies();
    ASSERT_FALSE(roots.empty()) << "no cgroup filesystem is mounted";
    for (const auto& root : roots) {
        EXPECT_TRUE(std::filesystem::exists(root + "/cgroup.procs")) << root;
    }
}

// cgroup v2: the pod's cgroup only gets memory.max, cpu.max, ... when every
// ancestor enables the controllers; each enables what it has and lacks, and
// the pod's own directory (it holds the pod's processes) enables nothing.
TEST(PodCgroup, V2AncestorsEnableTheirControllers) {
    TempDir dir;
    auto read = [&](const std::string& name) {
        std::ifstream in(dir / name);
        std::string text;
        std::getline(in, text, '\0');
        return text;
    };
    dir.write("cgroup.controllers", "cpuset cpu io memory pids\n");
    dir.write("cgroup.subtree_control", "cpu memory\n");
    dir.write("kubepods/cgroup.controllers", "cpu memory\n");
    dir.write("kubepods/cgroup.subtree_control", "");
    dir.write("kubepods/pod1/cgroup.controllers", "");
    dir.write("kubepods/pod1/cgroup.subtree_control", "");
    dir.write("kubepods/pod1/berth-0123/cgroup.subtree_control", "");

    sandbox::enable_v2_controllers(dir.path().string(), "/kubepods/pod1");

    // The fake files collect the writes; the kernel's would list the set.
    EXPECT_EQ(read("cgroup.subtree_control"), "cpu memory\n+cpuset+io+pids");
    EXPECT_EQ(read("kubepods/cgroup.subtree_control"), "+cpu+memory");
    EXPECT_EQ(read("kubepods/pod1/cgroup.subtree_control"), "");
    EXPECT_EQ(read("kubepods/pod1/berth-0123/cgroup.subtree_control"), "");
}

// The sandbox task of a VM runtime's pod: berth-pod-init in the pod's pinned
// namespaces and cgroup, with the annotations shims group a pod's tasks by.
TEST(SandboxTaskSpec, RunsPodInitInThePodsNamespacesWithTheGroupingAnnotations) {
    sandbox::Sandbox record;
    record.id = std::string(64, 'a');
    record.config.mutable_metadata()->set_name("web");
    record.config.mutable_metadata()->set_namespace_("prod");
    record.config.mutable_metadata()->set_uid("u-1");
    record.config.set_log_directory("/var/log/pods/x");
    record.netns_path = "/run/berth/netns/" + record.id;
    record.utsns_path = "/run/berth/utsns/" + record.id;
    record.cgroup_parent = "/kubepods";
    record.cgroup_path = "/kubepods/berth-" + record.id;
    const auto spec =
        sandbox::sandbox_task_spec(record, "/r/rootfs", "/usr/libexec/berth/berth-pod-init",
                                   berth::config::CgroupManager::Cgroupfs);
    EXPECT_EQ(spec["process"]["args"], nlohmann::json({"/berth-pod-init"}));
    EXPECT_EQ(spec["root"]["path"], "/r/rootfs");
    EXPECT_TRUE(spec["root"]["readonly"].get<bool>());
    bool bound = false;
    for (const auto& mount : spec["mounts"]) {
        if (mount["destination"] == "/berth-pod-init") {
            bound = mount["source"] == "/usr/libexec/berth/berth-pod-init";
        }
    }
    EXPECT_TRUE(bound) << spec["mounts"].dump();
    const auto& annotations = spec["annotations"];
    EXPECT_EQ(annotations["io.kubernetes.cri.container-type"], "sandbox");
    EXPECT_EQ(annotations["io.kubernetes.cri.sandbox-id"], record.id);
    EXPECT_EQ(annotations["io.kubernetes.cri.sandbox-name"], "web");
    EXPECT_EQ(annotations["io.kubernetes.cri.sandbox-namespace"], "prod");
    EXPECT_EQ(spec["linux"]["cgroupsPath"], record.cgroup_path);
    std::map<std::string, std::string> namespaces;
    for (const auto& entry : spec["linux"]["namespaces"])
        namespaces[entry["type"]] = entry.value("path", "");
    EXPECT_EQ(namespaces["network"], record.netns_path);
    EXPECT_EQ(namespaces["uts"], record.utsns_path);
    EXPECT_EQ(namespaces.count("ipc"), 0u) << "IPC NODE: the host's";
    EXPECT_EQ(namespaces["pid"], "") << "a new PID namespace";
    record.cgroup_parent = "kubepods.slice";
    const auto systemd = sandbox::sandbox_task_spec(record, "/r/rootfs", "/p",
                                                    berth::config::CgroupManager::Systemd);
    EXPECT_EQ(systemd["linux"]["cgroupsPath"], "kubepods.slice:berth:" + record.id);
}

TEST(PodNetworkChecks, DnsConfigIsResolverText) {
    v1::DNSConfig dns;
    dns.add_servers("10.96.0.10");
    dns.add_servers("fd00::a");
    dns.add_searches("default.svc.cluster.local");
    dns.add_options("ndots:5");
    EXPECT_EQ(code_of([&] { sandbox::check_dns_config(dns); }), grpc::StatusCode::OK);
    for (const char* server : {"10.0.0.1\nnameserver 6.6.6.6", "dns.example", "", "300.1.1.1"}) {
        v1::DNSConfig bad;
        bad.add_servers(server);
        EXPECT_EQ(code_of([&] { sandbox::check_dns_config(bad); }),
                  grpc::StatusCode::INVALID_ARGUMENT)
            << server;
    }
    for (const std::string& word : {std::string("a\nb"), std::string("a b"), std::string(),
                                    std::string(256, 'a'), std::string("a\0b", 3)}) {
        v1::DNSConfig search;
        search.add_searches(word);
        EXPECT_EQ(code_of([&] { sandbox::check_dns_config(search); }),
                  grpc::StatusCode::INVALID_ARGUMENT);
        v1::DNSConfig option;
        option.add_options(word);
        EXPECT_EQ(code_of([&] { sandbox::check_dns_config(option); }),
                  grpc::StatusCode::INVALID_ARGUMENT);
    }
}

TEST(PodNetworkChecks, PortMappingsInRange) {
    const auto with = [](int container_port, int host_port, int protocol, const char* host_ip) {
        v1::PodSandboxConfig config;
        auto* mapping = config.add_port_mappings();
        mapping->set_container_port(container_port);
        mapping->set_host_port(host_port);
        mapping->set_protocol(static_cast<v1::Protocol>(protocol));
        mapping->set_host_ip(host_ip);
        return code_of([&] { sandbox::check_port_mappings(config); });
    };
    EXPECT_EQ(with(80, 0, v1::TCP, ""), grpc::StatusCode::OK);
    EXPECT_EQ(with(65535, 65535, v1::SCTP, "127.0.0.1"), grpc::StatusCode::OK);
    EXPECT_EQ(with(53, 5353, v1::UDP, "::1"), grpc::StatusCode::OK);
    for (const auto code :
         {with(0, 0, v1::TCP, ""), with(70000, 0, v1::TCP, ""), with(-1, 0, v1::TCP, ""),
          with(80, -1, v1::TCP, ""), with(80, 70000, v1::TCP, ""), with(80, 8080, 99, ""),
          with(80, 8080, v1::TCP, "localhost")}) {
        EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
    }
}

TEST(PodNetworkChecks, MetadataCannotSplitCniArgs) {
    const auto with = [](const std::string& name, const std::string& ns, const std::string& uid) {
        v1::PodSandboxConfig config;
        config.mutable_metadata()->set_name(name);
        config.mutable_metadata()->set_namespace_(ns);
        config.mutable_metadata()->set_uid(uid);
        return code_of([&] { sandbox::check_cni_args_metadata(config); });
    };
    EXPECT_EQ(with("web-0", "kube-system", "6f1c1a52-5d1e-4c4e-9a4b-1f2e3d4c5b6a"),
              grpc::StatusCode::OK);
    for (const auto code : {with("web;IP=10.0.0.5", "default", "u"), with("web", "a=b", "u"),
                            with("web", "default", "u;K8S_POD_NAME=other")}) {
        EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
    }
}

TEST(PodNetworkChecks, SysctlValuesAreOneLine) {
    v1::PodSandboxConfig config;
    (*config.mutable_linux()->mutable_sysctls())["kernel.sem"] = "250\t32000\t32\t128";
    EXPECT_EQ(code_of([&] { sandbox::validate_sysctls(config); }), grpc::StatusCode::OK);
    (*config.mutable_linux()->mutable_sysctls())["kernel.sem"] = "250\n32000";
    EXPECT_EQ(code_of([&] { sandbox::validate_sysctls(config); }),
              grpc::StatusCode::INVALID_ARGUMENT);
}

// Values echoed in errors stay one short line; messages stay below gRPC's
// header limit whatever made them long.
TEST(StatusMessages, EchoedValuesAreQuotedAndCut) {
    using berth::daemon::bounded_message;
    using berth::daemon::quoted_value;
    EXPECT_EQ(quoted_value("web-0"), "\"web-0\"");
    EXPECT_EQ(quoted_value("a\nb\"c\\"), "\"a\\x0ab\\\"c\\\\\"");
    const std::string cut = quoted_value(std::string(10000, 'x'));
    EXPECT_LT(cut.size(), 250u);
    EXPECT_NE(cut.find("10000 bytes, cut"), std::string::npos);
    EXPECT_EQ(bounded_message("Rpc", "short"), "Rpc: short");
    EXPECT_LT(bounded_message("Rpc", std::string(100000, 'y')).size(), 2100u);
}
