// Stats and metrics on a real berthd with real runc, images from a real
// registry and pods on a real CNI bridge: cpu of a busy loop, the working
// set of memory a container holds, the writable layer growing with a file,
// network counters rising with a ping between two pods, filters, errors,
// the metrics RPCs, berthctl stats/statsp and the daemon CPU a
// ListContainerStats costs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::deadline_context;
using berth::test::read_file;
using berth::test::run_command;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// A bridge network of the test's own (see sandbox_test): a random /24 in
// 10.234.0.0/16, a bridge no other run uses, no gateway address on it.
struct TestNetwork {
    int octet;
    std::string bridge;
    std::string subnet_prefix;

    TestNetwork() {
        std::random_device random;
        octet = static_cast<int>(random() % 250) + 1;
        bridge = "bs" + std::to_string(getpid() % 100000) + "x" + std::to_string(octet);
        subnet_prefix = "10.234." + std::to_string(octet) + ".";
    }
    ~TestNetwork() { run_command("ip link delete " + bridge + " 2>/dev/null"); }

    std::string conflist(const std::string& ipam_dir) const {
        return nlohmann::json{{"cniVersion", "1.0.0"},
                              {"name", "berth-stats-test"},
                              {"plugins",
                               {{{"type", "bridge"},
                                 {"bridge", bridge},
                                 {"isGateway", false},
                                 {"ipMasq", false},
                                 {"ipam",
                                  {{"type", "host-local"},
                                   {"dataDir", ipam_dir},
                                   {"ranges", {{{{"subnet", subnet_prefix + "0/24"}}}}}}}},
                                {{"type", "loopback"}}}}}
            .dump(2);
    }
};

// A cgroup parent of the test's own on every hierarchy, removed at the end
// (after the pods in it). On the cpu hierarchy it gets the largest weight,
// so that builds running beside the test cannot starve a busy loop in it.
class CgroupParent {
public:
    CgroupParent() : path_("/berthstats" + std::to_string(getpid())) {
        const std::string cpu = "/sys/fs/cgroup/cpu" + path_;
        if (fs::exists("/sys/fs/cgroup/cpu/cpu.shares")) {
            fs::create_directories(cpu);
            std::ofstream(cpu + "/cpu.shares") << 262144;
        } else if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
            fs::create_directories("/sys/fs/cgroup" + path_);
            std::ofstream("/sys/fs/cgroup" + path_ + "/cpu.weight") << 10000;
        }
    }
    ~CgroupParent() {
        for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup")) {
            remove_tree(entry.path().string() + path_);
        }
        ::rmdir(("/sys/fs/cgroup" + path_).c_str());
    }
    const std::string& path() const { return path_; }

private:
    // Cgroups are removed bottom-up with rmdir (their files cannot be).
    static void remove_tree(const std::string& dir) {
        std::error_code error;
        if (!fs::is_directory(dir, error)) {
            return;
        }
        for (const auto& entry : fs::directory_iterator(dir, error)) {
            if (entry.is_directory()) {
                remove_tree(entry.path().string());
            }
        }
        ::rmdir(dir.c_str());
    }
    std::string path_;
};

class StatsTest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        registry_ = new TestRegistry();
        ASSERT_TRUE(registry_->start()) << registry_->log();
        registry_->push("busybox:multi");
    }
    static void TearDownTestSuite() {
        delete registry_;
        registry_ = nullptr;
    }

    void SetUp() override {
        daemon_ = std::make_unique<BerthdInstance>();
        daemon_->dir().write("net.d/10-test.conflist", network_.conflist(daemon_->dir() / "ipam"));
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
        runtime_ = daemon_->runtime();
        v1::PullImageRequest pull;
        pull.mutable_image()->set_image(image());
        v1::PullImageResponse pulled;
        auto context = deadline_context(60s);
        ASSERT_TRUE(daemon_->image()->PullImage(context.get(), pull, &pulled).ok());
    }

    void TearDown() override {
        if (runtime_) {
            v1::ListPodSandboxResponse pods;
            auto context = deadline_context(60s);
            if (runtime_->ListPodSandbox(context.get(), {}, &pods).ok()) {
                for (const auto& pod : pods.items()) {
                    v1::RemovePodSandboxRequest remove;
                    remove.set_pod_sandbox_id(pod.id());
                    v1::RemovePodSandboxResponse removed;
                    auto remove_context = deadline_context(60s);
                    (void)runtime_->RemovePodSandbox(remove_context.get(), remove, &removed);
                }
            }
        }
        daemon_.reset();
    }

    static std::string image() { return registry_->host() + "/busybox:multi"; }

    struct PodOptions {
        bool host_network = true;
        std::string cgroup_parent;
        std::map<std::string, std::string> labels;
    };

    std::string run_pod(const std::string& name, const PodOptions& options) {
        v1::RunPodSandboxRequest request;
        auto* config = request.mutable_config();
        config->mutable_metadata()->set_name(name);
        config->mutable_metadata()->set_namespace_("stats");
        config->mutable_metadata()->set_uid(name + "-uid");
        config->set_log_directory(daemon_->dir() / ("logs/" + name));
        for (const auto& [key, value] : options.labels) {
            (*config->mutable_labels())[key] = value;
        }
        if (options.host_network) {
            config->mutable_linux()
                ->mutable_security_context()
                ->mutable_namespace_options()
                ->set_network(v1::NODE);
        }
        config->mutable_linux()->set_cgroup_parent(options.cgroup_parent);
        pod_configs_[name] = *config;
        v1::RunPodSandboxResponse response;
        auto context = deadline_context(60s);
        const auto status = runtime_->RunPodSandbox(context.get(), request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message() << daemon_->log();
        pod_names_[response.pod_sandbox_id()] = name;
        return response.pod_sandbox_id();
    }
    std::string run_pod(const std::string& name) { return run_pod(name, PodOptions{}); }

    std::string run(const std::string& pod, const std::string& name,
                    const std::vector<std::string>& command,
                    const std::map<std::string, std::string>& labels = {},
                    std::int64_t memory_limit = 0) {
        v1::CreateContainerRequest request;
        request.set_pod_sandbox_id(pod);
        auto* config = request.mutable_config();
        config->mutable_metadata()->set_name(name);
        config->mutable_image()->set_image(image());
        for (const auto& part : command) {
            config->add_command(part);
        }
        for (const auto& [key, value] : labels) {
            (*config->mutable_labels())[key] = value;
        }
        config->set_log_path(name + ".log");
        if (memory_limit > 0) {
            config->mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(memory_limit);
        }
        *request.mutable_sandbox_config() = pod_configs_.at(pod_names_.at(pod));
        v1::CreateContainerResponse created;
        auto context = deadline_context(60s);
        const auto status = runtime_->CreateContainer(context.get(), request, &created);
        EXPECT_TRUE(status.ok()) << status.error_message() << daemon_->log();
        v1::StartContainerRequest start;
        start.set_container_id(created.container_id());
        v1::StartContainerResponse started;
        auto start_context = deadline_context(60s);
        const auto start_status = runtime_->StartContainer(start_context.get(), start, &started);
        EXPECT_TRUE(start_status.ok()) << start_status.error_message();
        return created.container_id();
    }

    v1::ContainerStats container_stats(const std::string& id, grpc::Status* result = nullptr) {
        v1::ContainerStatsRequest request;
        request.set_container_id(id);
        v1::ContainerStatsResponse response;
        auto context = deadline_context();
        const auto status = runtime_->ContainerStats(context.get(), request, &response);
        if (result != nullptr) {
            *result = status;
        } else {
            EXPECT_TRUE(status.ok()) << status.error_message();
        }
        return response.stats();
    }

    std::vector<v1::ContainerStats> list_stats(const v1::ContainerStatsFilter& filter = {}) {
        v1::ListContainerStatsRequest request;
        *request.mutable_filter() = filter;
        v1::ListContainerStatsResponse response;
        auto context = deadline_context();
        const auto status = runtime_->ListContainerStats(context.get(), request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return {response.stats().begin(), response.stats().end()};
    }

    v1::PodSandboxStats pod_stats(const std::string& id, grpc::Status* result = nullptr) {
        v1::PodSandboxStatsRequest request;
        request.set_pod_sandbox_id(id);
        v1::PodSandboxStatsResponse response;
        auto context = deadline_context();
        const auto status = runtime_->PodSandboxStats(context.get(), request, &response);
        if (result != nullptr) {
            *result = status;
        } else {
            EXPECT_TRUE(status.ok()) << status.error_message();
        }
        return response.stats();
    }

    v1::ExecSyncResponse exec(const std::string& id, const std::string& script) {
        v1::ExecSyncRequest request;
        request.set_container_id(id);
        request.add_cmd("sh");
        request.add_cmd("-c");
        request.add_cmd(script);
        request.set_timeout(60);
        v1::ExecSyncResponse response;
        auto context = deadline_context(90s);
        const auto status = runtime_->ExecSync(context.get(), request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return response;
    }

    nlohmann::json pod_info(const std::string& id) {
        v1::PodSandboxStatusRequest request;
        request.set_pod_sandbox_id(id);
        request.set_verbose(true);
        v1::PodSandboxStatusResponse response;
        auto context = deadline_context();
        EXPECT_TRUE(runtime_->PodSandboxStatus(context.get(), request, &response).ok());
        ip_[id] = response.status().network().ip();
        return nlohmann::json::parse(response.info().at("info"));
    }

    std::string berthctl(const std::string& arguments) const {
        return std::string(BERTHCTL_PATH) + " -r unix://" + daemon_->socket_path() + " -t 30s " +
               arguments + " 2>&1";
    }

    static std::set<std::string> ids(const std::vector<v1::ContainerStats>& stats) {
        std::set<std::string> result;
        for (const auto& entry : stats) {
            result.insert(entry.attributes().id());
        }
        return result;
    }

    static TestRegistry* registry_;
    // Declared first, so removed last: after TearDown removed the pods in it.
    std::unique_ptr<CgroupParent> parent_;
    TestNetwork network_;
    std::unique_ptr<BerthdInstance> daemon_;
    std::unique_ptr<v1::RuntimeService::Stub> runtime_;
    std::map<std::string, v1::PodSandboxConfig> pod_configs_;  // by pod name
    std::map<std::string, std::string> pod_names_;             // id -> name
    std::map<std::string, std::string> ip_;                    // id -> address
};

TestRegistry* StatsTest::registry_ = nullptr;
// Named after the executable, so that ctest -R stats selects these tests.
using stats_test = StatsTest;

TEST_F(stats_test, BusyLoopUsesAboutOneCore) {
    parent_ = std::make_unique<CgroupParent>();
    PodOptions options;
    options.cgroup_parent = parent_->path() + "/pod1";
    const std::string pod = run_pod("busy", options);
    const std::string id = run(pod, "loop", {"sh", "-c", "while :; do :; done"});
    std::this_thread::sleep_for(500ms);  // the loop is running
    const auto first = container_stats(id);
    const auto pod_first = pod_stats(pod);
    std::this_thread::sleep_for(2500ms);
    const auto second = container_stats(id);
    const auto pod_second = pod_stats(pod);

    ASSERT_TRUE(second.cpu().has_usage_nano_cores()) << "two samples 2.5 s apart give a rate";
    const double cores = static_cast<double>(second.cpu().usage_nano_cores().value()) / 1e9;
    EXPECT_GT(cores, 0.5) << "a busy loop should use about one core";
    EXPECT_LT(cores, 1.2) << "one thread cannot use more than one core";
    // The rate is what the two samples' counters say.
    const double by_counters =
        static_cast<double>(second.cpu().usage_core_nano_seconds().value() -
                            first.cpu().usage_core_nano_seconds().value()) /
        static_cast<double>(second.cpu().timestamp() - first.cpu().timestamp());
    EXPECT_NEAR(cores, by_counters, 0.1);

    // The pod (its kubelet-style parent cgroup) holds the loop too.
    ASSERT_TRUE(pod_second.linux().cpu().has_usage_nano_cores());
    EXPECT_GT(pod_second.linux().cpu().usage_nano_cores().value(), 500000000u);
    EXPECT_GE(pod_second.linux().cpu().usage_core_nano_seconds().value(),
              second.cpu().usage_core_nano_seconds().value());
    EXPECT_GT(pod_second.linux().cpu().usage_core_nano_seconds().value(),
              pod_first.linux().cpu().usage_core_nano_seconds().value());
    EXPECT_GE(pod_second.linux().process().process_count().value(), 1u);
    ASSERT_EQ(pod_second.linux().containers_size(), 1);
    EXPECT_EQ(pod_second.linux().containers(0).attributes().id(), id);
}

TEST_F(stats_test, WorkingSetCountsMemoryTheContainerHolds) {
    const std::string pod = run_pod("mem");
    // 20 MiB in the pod's /dev/shm (a tmpfs): charged to the container's
    // memory cgroup as it writes, and never inactive file cache.
    const std::string id = run(pod, "hold",
                               {"sh", "-c",
                                "dd if=/dev/zero of=/dev/shm/fill bs=1M count=20 && "
                                "touch /tmp/filled; sleep 1000"},
                               {}, 256 * kMiB);
    v1::ContainerStats stats;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    do {
        std::this_thread::sleep_for(200ms);
        stats = container_stats(id);
    } while (stats.memory().working_set_bytes().value() < 20 * kMiB &&
             std::chrono::steady_clock::now() < deadline);
    EXPECT_GE(stats.memory().working_set_bytes().value(), 20 * kMiB);
    EXPECT_GE(stats.memory().usage_bytes().value(), stats.memory().working_set_bytes().value());
    EXPECT_GT(stats.memory().timestamp(), 0);
    EXPECT_TRUE(stats.memory().has_page_faults());
    EXPECT_TRUE(stats.memory().has_rss_bytes());
    ASSERT_TRUE(stats.memory().has_available_bytes()) << "the container has a limit";
    EXPECT_EQ(stats.memory().available_bytes().value() + stats.memory().working_set_bytes().value(),
              256 * kMiB);
}

TEST_F(stats_test, WritableLayerGrowsWithAFile) {
    const std::string pod = run_pod("disk");
    const std::string id = run(pod, "writer", {"sleep", "1000"});
    const auto before = container_stats(id);
    ASSERT_TRUE(before.has_writable_layer());
    EXPECT_FALSE(before.writable_layer().fs_id().mountpoint().empty());
    EXPECT_EQ(exec(id, "dd if=/dev/zero of=/big bs=1M count=5 && sync").exit_code(), 0);
    const auto after = container_stats(id);
    EXPECT_GE(after.writable_layer().used_bytes().value(),
              before.writable_layer().used_bytes().value() + 5 * kMiB);
    EXPECT_GT(after.writable_layer().inodes_used().value(),
              before.writable_layer().inodes_used().value());
}

TEST_F(stats_test, PingBetweenPodsRaisesTheirCounters) {
    PodOptions options;
    options.host_network = false;
    const std::string a = run_pod("ping-a", options);
    const std::string b = run_pod("ping-b", options);
    const std::string netns_a = pod_info(a)["netns"];
    pod_info(b);
    const auto a_before = pod_stats(a);
    const auto b_before = pod_stats(b);
    ASSERT_TRUE(a_before.linux().has_network()) << daemon_->log();
    EXPECT_EQ(a_before.linux().network().default_interface().name(), "eth0");
    for (const auto& interface : a_before.linux().network().interfaces()) {
        EXPECT_NE(interface.name(), "lo");
    }

    const auto ping =
        run_command("nsenter --net=" + netns_a + " busybox ping -c 5 -i 0.2 -s 1000 " + "-W 3 " +
                    ip_[b] + " 2>&1");
    ASSERT_EQ(ping.exit_code, 0) << ping.output;

    const auto a_after = pod_stats(a);
    const auto b_after = pod_stats(b);
    const auto& a_eth0_before = a_before.linux().network().default_interface();
    const auto& a_eth0_after = a_after.linux().network().default_interface();
    const auto& b_eth0_before = b_before.linux().network().default_interface();
    const auto& b_eth0_after = b_after.linux().network().default_interface();
    // Five 1028-byte ICMP payloads each way, plus headers.
    EXPECT_GE(a_eth0_after.tx_bytes().value(), a_eth0_before.tx_bytes().value() + 5000);
    EXPECT_GE(a_eth0_after.rx_bytes().value(), a_eth0_before.rx_bytes().value() + 5000);
    EXPECT_GE(b_eth0_after.rx_bytes().value(), b_eth0_before.rx_bytes().value() + 5000);
    EXPECT_GE(b_eth0_after.tx_bytes().value(), b_eth0_before.tx_bytes().value() + 5000);
    EXPECT_GT(a_after.linux().network().timestamp(), a_before.linux().network().timestamp());

    // The same counters reach the metrics kubelet collects.
    v1::ListPodSandboxMetricsResponse metrics;
    auto context = deadline_context();
    ASSERT_TRUE(runtime_->ListPodSandboxMetrics(context.get(), {}, &metrics).ok());
    bool found = false;
    for (const auto& pod : metrics.pod_metrics()) {
        for (const auto& metric : pod.metrics()) {
            if (pod.pod_sandbox_id() == b &&
                metric.name() == "container_network_receive_bytes_total" &&
                metric.label_values(metric.label_values_size() - 1) == "eth0") {
                found = true;
                EXPECT_GE(metric.value().value(), b_eth0_after.rx_bytes().value());
                EXPECT_EQ(metric.metric_type(), v1::COUNTER);
            }
        }
    }
    EXPECT_TRUE(found) << metrics.DebugString();
}

TEST_F(stats_test, ListContainerStatsFilters) {
    PodOptions options;
    options.labels = {{"team", "a"}};
    const std::string pod_a = run_pod("list-a", options);
    const std::string pod_b = run_pod("list-b");
    const std::string one = run(pod_a, "one", {"sleep", "1000"}, {{"role", "web"}});
    const std::string two = run(pod_a, "two", {"sleep", "1000"}, {{"role", "db"}});
    const std::string three = run(pod_b, "three", {"sleep", "1000"}, {{"role", "web"}});

    EXPECT_EQ(ids(list_stats()), (std::set<std::string>{one, two, three}));
    v1::ContainerStatsFilter filter;
    filter.set_id(two.substr(0, 12));
    EXPECT_EQ(ids(list_stats(filter)), (std::set<std::string>{two}));
    filter.Clear();
    filter.set_pod_sandbox_id(pod_a.substr(0, 10));
    EXPECT_EQ(ids(list_stats(filter)), (std::set<std::string>{one, two}));
    (*filter.mutable_label_selector())["role"] = "web";
    EXPECT_EQ(ids(list_stats(filter)), (std::set<std::string>{one}));
    filter.Clear();
    (*filter.mutable_label_selector())["role"] = "web";
    EXPECT_EQ(ids(list_stats(filter)), (std::set<std::string>{one, three}));
    filter.Clear();
    filter.set_id("0123456789abcdef");  // matches nothing: empty, not an error
    EXPECT_TRUE(list_stats(filter).empty());

    for (const auto& stats : list_stats()) {
        EXPECT_TRUE(stats.cpu().has_usage_core_nano_seconds()) << stats.attributes().id();
        EXPECT_TRUE(stats.memory().has_working_set_bytes());
        EXPECT_TRUE(stats.has_writable_layer());
        EXPECT_FALSE(stats.attributes().metadata().name().empty());
    }

    // The streaming variant gives the same containers.
    v1::StreamContainerStatsRequest stream_request;
    auto context = deadline_context();
    auto reader = runtime_->StreamContainerStats(context.get(), stream_request);
    std::set<std::string> streamed;
    v1::StreamContainerStatsResponse page;
    while (reader->Read(&page)) {
        for (const auto& stats : page.container_stats()) {
            streamed.insert(stats.attributes().id());
        }
    }
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_EQ(streamed, (std::set<std::string>{one, two, three}));

    // Pods: filters by id and labels; each carries its containers.
    v1::ListPodSandboxStatsRequest pods_request;
    (*pods_request.mutable_filter()->mutable_label_selector())["team"] = "a";
    v1::ListPodSandboxStatsResponse pods;
    auto pods_context = deadline_context();
    ASSERT_TRUE(runtime_->ListPodSandboxStats(pods_context.get(), pods_request, &pods).ok());
    ASSERT_EQ(pods.stats_size(), 1);
    EXPECT_EQ(pods.stats(0).attributes().id(), pod_a);
    EXPECT_EQ(pods.stats(0).linux().containers_size(), 2);
    EXPECT_GE(pods.stats(0).linux().process().process_count().value(), 2u);

    v1::StreamPodSandboxStatsRequest stream_pods;
    auto stream_context = deadline_context();
    auto pod_reader = runtime_->StreamPodSandboxStats(stream_context.get(), stream_pods);
    std::set<std::string> streamed_pods;
    v1::StreamPodSandboxStatsResponse pod_page;
    while (pod_reader->Read(&pod_page)) {
        for (const auto& stats : pod_page.pod_sandbox_stats()) {
            streamed_pods.insert(stats.attributes().id());
        }
    }
    EXPECT_TRUE(pod_reader->Finish().ok());
    EXPECT_EQ(streamed_pods, (std::set<std::string>{pod_a, pod_b}));
}

TEST_F(stats_test, UnknownIdsAreNotFound) {
    const std::string pod = run_pod("errors");
    grpc::Status status;
    container_stats("0123456789abcdef", &status);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    container_stats("not/an-id", &status);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    container_stats("", &status);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    pod_stats("0123456789abcdef", &status);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    pod_stats(pod.substr(0, 12), &status);
    EXPECT_TRUE(status.ok()) << "a unique prefix is enough";
}

TEST_F(stats_test, ExitedContainerAnswersWithWhatIsLeft) {
    const std::string pod = run_pod("exited");
    const std::string id = run(pod, "done", {"true"});
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    v1::ContainerStatusResponse status;
    do {
        std::this_thread::sleep_for(100ms);
        v1::ContainerStatusRequest request;
        request.set_container_id(id);
        auto context = deadline_context();
        ASSERT_TRUE(runtime_->ContainerStatus(context.get(), request, &status).ok());
    } while (status.status().state() != v1::CONTAINER_EXITED &&
             std::chrono::steady_clock::now() < deadline);
    ASSERT_EQ(status.status().state(), v1::CONTAINER_EXITED);
    grpc::Status result;
    const auto stats = container_stats(id, &result);
    ASSERT_TRUE(result.ok()) << result.error_message();
    EXPECT_EQ(stats.attributes().id(), id);
    EXPECT_EQ(stats.attributes().metadata().name(), "done");
    EXPECT_TRUE(stats.has_writable_layer()) << "the layer is there until the container is removed";
    EXPECT_EQ(ids(list_stats()), (std::set<std::string>{id}));
}

TEST_F(stats_test, MetricDescriptorsAndPodMetrics) {
    v1::ListMetricDescriptorsResponse descriptors;
    auto context = deadline_context();
    ASSERT_TRUE(runtime_->ListMetricDescriptors(context.get(), {}, &descriptors).ok());
    std::map<std::string, int> label_counts;
    for (const auto& descriptor : descriptors.descriptors()) {
        label_counts[descriptor.name()] = descriptor.label_keys_size();
    }
    for (const char* name :
         {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
          "container_memory_usage_bytes", "container_memory_rss",
          "container_network_receive_bytes_total", "container_network_transmit_bytes_total"}) {
        EXPECT_TRUE(label_counts.count(name)) << name;
    }

    const std::string pod = run_pod("metrics");
    const std::string id = run(pod, "app", {"sleep", "1000"});
    v1::ListPodSandboxMetricsResponse metrics;
    auto metrics_context = deadline_context();
    ASSERT_TRUE(runtime_->ListPodSandboxMetrics(metrics_context.get(), {}, &metrics).ok());
    ASSERT_EQ(metrics.pod_metrics_size(), 1);
    EXPECT_EQ(metrics.pod_metrics(0).pod_sandbox_id(), pod);
    ASSERT_EQ(metrics.pod_metrics(0).container_metrics_size(), 1);
    const auto& container = metrics.pod_metrics(0).container_metrics(0);
    EXPECT_EQ(container.container_id(), id);
    std::set<std::string> names;
    for (const auto& metric : container.metrics()) {
        names.insert(metric.name());
        ASSERT_TRUE(label_counts.count(metric.name())) << "no descriptor for " << metric.name();
        EXPECT_EQ(metric.label_values_size(), label_counts[metric.name()]) << metric.name();
    }
    EXPECT_TRUE(names.count("container_memory_working_set_bytes"));
    EXPECT_TRUE(names.count("container_cpu_usage_seconds_total"));
    EXPECT_TRUE(names.count("container_fs_usage_bytes"));

    std::set<std::string> streamed;
    v1::StreamPodSandboxMetricsRequest stream_request;
    auto stream_context = deadline_context();
    auto reader = runtime_->StreamPodSandboxMetrics(stream_context.get(), stream_request);
    v1::StreamPodSandboxMetricsResponse page;
    while (reader->Read(&page)) {
        for (const auto& entry : page.pod_sandbox_metrics()) {
            streamed.insert(entry.pod_sandbox_id());
        }
    }
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_EQ(streamed, (std::set<std::string>{pod}));
}

TEST_F(stats_test, BerthctlStatsAndStatsp) {
    const std::string pod = run_pod("ctlpod");
    const std::string id = run(pod, "ctlbox", {"sleep", "1000"});
    auto result = run_command(berthctl("stats"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    std::istringstream lines(result.output);
    std::string header, row;
    std::getline(lines, header);
    std::getline(lines, row);
    for (const char* column : {"CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES"}) {
        EXPECT_NE(header.find(column), std::string::npos) << column << " in " << header;
    }
    EXPECT_EQ(row.rfind(id.substr(0, 13), 0), 0u) << result.output;
    EXPECT_NE(row.find("ctlbox"), std::string::npos) << result.output;
    EXPECT_NE(row.find("B"), std::string::npos) << "sizes in human units: " << row;

    result = run_command(berthctl("stats -o json --id " + id.substr(0, 8)));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto json = nlohmann::json::parse(result.output);
    ASSERT_EQ(json.at("stats").size(), 1u);
    EXPECT_EQ(json["stats"][0]["attributes"]["id"], id);

    result = run_command(berthctl("stats -o yaml -p " + pod));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find(id), std::string::npos);

    result = run_command(berthctl("stats -l nolabel=here"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output.find(id.substr(0, 13)), std::string::npos)
        << "the label matched nothing";

    result = run_command(berthctl("statsp"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    for (const char* column : {"POD", "POD ID", "CPU %", "MEM"}) {
        EXPECT_NE(result.output.find(column), std::string::npos) << column;
    }
    EXPECT_NE(result.output.find("ctlpod"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find(pod.substr(0, 13)), std::string::npos) << result.output;

    result = run_command(berthctl("stats -o xml"));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("xml"), std::string::npos) << result.output;
}

// The brief's budget is "well under 50 ms of daemon CPU for a
// ListContainerStats over 100 containers"; here, with fewer containers to
// keep the test short, each call must stay under that for all of them
// (tests/bench/stats_benchmark.py measures 100).
TEST_F(stats_test, ListContainerStatsIsCheap) {
    const std::string pod = run_pod("cheap");
    constexpr int kContainers = 10;
    for (int i = 0; i < kContainers; ++i) {
        run(pod, "c" + std::to_string(i), {"sleep", "1000"});
    }
    const auto cpu_ticks = [&] {
        std::istringstream stat(
            read_file("/proc/" + std::to_string(daemon_->process().pid()) + "/stat"));
        std::string field;
        std::uint64_t user = 0, system = 0;
        // Fields 14 and 15 (utime, stime); the name in field 2 has no spaces.
        for (int index = 1; index <= 15 && stat >> field; ++index) {
            if (index == 14) {
                user = std::stoull(field);
            } else if (index == 15) {
                system = std::stoull(field);
            }
        }
        return user + system;
    };
    constexpr int kCalls = 50;
    list_stats();  // warm: the specs are read once
    const auto before = cpu_ticks();
    for (int i = 0; i < kCalls; ++i) {
        ASSERT_EQ(list_stats().size(), static_cast<std::size_t>(kContainers));
    }
    const double ms_per_call = static_cast<double>(cpu_ticks() - before) * 1000.0 /
                               static_cast<double>(sysconf(_SC_CLK_TCK)) / kCalls;
    RecordProperty("daemon_cpu_ms_per_call_10_containers", std::to_string(ms_per_call));
    EXPECT_LT(ms_per_call, 50.0);
}

}  // namespace
