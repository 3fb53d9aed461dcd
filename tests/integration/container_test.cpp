// Containers on a real berthd with real runc and berth-conmon, images pulled
// from a real registry: the lifecycle, CRI logs, stop with a grace period,
// users and capabilities, a read-only root, seccomp, OOM kills, partial lines,
// a daemon crash with containers running, and bad input. Pods use the host
// network here (sandbox_test covers CNI).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "cri_log_text.hpp"
#include "crun_host.hpp"
#include "mount_cleanup.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::cri_log_text;
using berth::test::deadline_context;
using berth::test::prepare_host_for_crun;
using berth::test::read_file;
using berth::test::run_command;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

class ContainerTest : public testing::Test {
protected:
    static void SetUpTestSuite() {
        registry_ = new TestRegistry();
        ASSERT_TRUE(registry_->start()) << registry_->log();
        registry_->push("busybox:multi");
        registry_->push("busybox:user");
        registry_->push("app:entrypoint");  // STOPSIGNAL SIGINT
    }
    static void TearDownTestSuite() {
        delete registry_;
        registry_ = nullptr;
    }

    void SetUp() override { start_daemon(); }

    // A berthd of the test's own with `options`, the test images pulled and
    // a pod `pod_` on the host network.
    void start_daemon(berth::test::BerthdOptions options = {}) {
        daemon_ = std::make_unique<BerthdInstance>(std::move(options));
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
        connect();
        for (const auto* image : {"/busybox:multi", "/busybox:user"}) {
            v1::PullImageRequest pull;
            pull.mutable_image()->set_image(registry_->host() + image);
            v1::PullImageResponse pulled;
            auto context = deadline_context(60s);
            ASSERT_TRUE(images_->PullImage(context.get(), pull, &pulled).ok());
        }
        pod_ = run_pod("pod");
    }

    void TearDown() override {
        // Remove whatever is left through the API, so that nothing outlives
        // the test: containers, their monitors, mounts.
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

    void connect() {
        runtime_ = daemon_->runtime();
        images_ = daemon_->image();
    }

    std::string run_pod(const std::string& name, const std::string& handler = "") {
        v1::RunPodSandboxRequest request;
        request.set_runtime_handler(handler);
        auto* config = request.mutable_config();
        config->mutable_metadata()->set_name(name);
        config->mutable_metadata()->set_namespace_("default");
        config->mutable_metadata()->set_uid(name + "-uid");
        config->set_log_directory(daemon_->dir() / ("logs/" + name));
        config->mutable_linux()
            ->mutable_security_context()
            ->mutable_namespace_options()
            ->set_network(v1::NODE);
        pod_config_ = *config;
        v1::RunPodSandboxResponse response;
        auto context = deadline_context(60s);
        const auto status = runtime_->RunPodSandbox(context.get(), request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return response.pod_sandbox_id();
    }

    v1::ContainerConfig config(const std::string& name, const std::vector<std::string>& command,
                               const std::string& image = "/busybox:multi") {
        v1::ContainerConfig config;
        config.mutable_metadata()->set_name(name);
        config.mutable_image()->set_image(registry_->host() + image);
        for (const auto& part : command)
            config.add_command(part);
        config.set_log_path(name + ".log");
        return config;
    }

    grpc::Status create(const v1::ContainerConfig& config, std::string* id,
                        const std::string& pod = "") {
        v1::CreateContainerRequest request;
        request.set_pod_sandbox_id(pod.empty() ? pod_ : pod);
        *request.mutable_config() = config;
        *request.mutable_sandbox_config() = pod_config_;
        v1::CreateContainerResponse response;
        auto context = deadline_context(60s);
        const auto status = runtime_->CreateContainer(context.get(), request, &response);
        if (id != nullptr)
            *id = response.container_id();
        return status;
    }

    grpc::Status start(const std::string& id) {
        v1::StartContainerRequest request;
        request.set_container_id(id);
        v1::StartContainerResponse response;
        auto context = deadline_context(60s);
        return runtime_->StartContainer(context.get(), request, &response);
    }

    // Creates and starts; fails the test on error.
    std::string run(const v1::ContainerConfig& config) {
        std::string id;
        const auto created = create(config, &id);
        EXPECT_TRUE(created.ok()) << created.error_message() << daemon_->log();
        const auto started = start(id);
        EXPECT_TRUE(started.ok()) << started.error_message();
        return id;
    }

    grpc::Status stop(const std::string& id, std::int64_t timeout) {
        v1::StopContainerRequest request;
        request.set_container_id(id);
        request.set_timeout(timeout);
        v1::StopContainerResponse response;
        auto context = deadline_context(60s);
        return runtime_->StopContainer(context.get(), request, &response);
    }

    grpc::Status remove(const std::string& id) {
        v1::RemoveContainerRequest request;
        request.set_container_id(id);
        v1::RemoveContainerResponse response;
        auto context = deadline_context(60s);
        return runtime_->RemoveContainer(context.get(), request, &response);
    }

    v1::ContainerStatus status(const std::string& id, grpc::Status* result = nullptr) {
        v1::ContainerStatusRequest request;
        request.set_container_id(id);
        v1::ContainerStatusResponse response;
        auto context = deadline_context();
        const auto status = runtime_->ContainerStatus(context.get(), request, &response);
        if (result != nullptr)
            *result = status;
        return response.status();
    }

    // Waits (bounded) until the container has exited.
    v1::ContainerStatus wait_exited(const std::string& id, std::chrono::seconds limit = 20s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        v1::ContainerStatus current;
        do {
            current = status(id);
            if (current.state() == v1::CONTAINER_EXITED)
                return current;
            std::this_thread::sleep_for(50ms);
        } while (std::chrono::steady_clock::now() < deadline);
        ADD_FAILURE() << "container " << id << " did not exit; state " << current.state();
        return current;
    }

    std::string log_of(const std::string& name) const {
        return read_file(daemon_->dir() / ("logs/pod/" + name + ".log"));
    }

    static TestRegistry* registry_;
    std::unique_ptr<BerthdInstance> daemon_;
    std::unique_ptr<v1::RuntimeService::Stub> runtime_;
    std::unique_ptr<v1::ImageService::Stub> images_;
    std::string pod_;
    v1::PodSandboxConfig pod_config_;
};

TestRegistry* ContainerTest::registry_ = nullptr;

TEST_F(ContainerTest, RunsLogsAndExitsWithItsCode) {
    const auto id = run(config("seven", {"sh", "-c", "echo out; echo err >&2; sleep 1; exit 7"}));
    EXPECT_EQ(status(id).state(), v1::CONTAINER_RUNNING);
    const auto exited = wait_exited(id);
    EXPECT_EQ(exited.exit_code(), 7);
    EXPECT_EQ(exited.reason(), "Error");
    EXPECT_GT(exited.finished_at(), exited.started_at());
    EXPECT_GT(exited.started_at(), exited.created_at());
    EXPECT_EQ(exited.log_path(), daemon_->dir() / "logs/pod/seven.log");
    EXPECT_EQ(exited.image().image(), registry_->host() + "/busybox:multi");
    EXPECT_EQ(exited.image_id(),
              TestRegistry::images().at("busybox:multi").at("config").get<std::string>());
    const std::string log = log_of("seven");
    EXPECT_EQ(cri_log_text(log, "stdout"), "out\n");
    EXPECT_EQ(cri_log_text(log, "stderr"), "err\n");
    EXPECT_TRUE(std::regex_search(
        log, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out)")))
        << log;

    const auto zero = run(config("zero", {"true"}));
    const auto completed = wait_exited(zero);
    EXPECT_EQ(completed.exit_code(), 0);
    EXPECT_EQ(completed.reason(), "Completed");

    ASSERT_TRUE(remove(id).ok());
    ASSERT_TRUE(remove(zero).ok());
    grpc::Status result;
    status(id, &result);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_TRUE(remove(id).ok());  // idempotent
}

TEST_F(ContainerTest, StopKillsAProcessThatIgnoresSigterm) {
    const auto id = run(
        config("stubborn", {"sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"}));
    const auto begin = std::chrono::steady_clock::now();
    ASSERT_TRUE(stop(id, 2).ok());
    EXPECT_GE(std::chrono::steady_clock::now() - begin, 2s);
    const auto stopped = status(id);
    EXPECT_EQ(stopped.state(), v1::CONTAINER_EXITED);
    EXPECT_EQ(stopped.exit_code(), 137);
    EXPECT_TRUE(stop(id, 2).ok());  // twice is fine

    // A process that honours SIGTERM stops at once; timeout 0 kills.
    const auto polite = run(config("polite", {"sleep", "1000"}));
    ASSERT_TRUE(stop(polite, 30).ok());
    EXPECT_EQ(status(polite).exit_code(), 143);
    const auto killed = run(config("killed", {"sleep", "1000"}));
    ASSERT_TRUE(stop(killed, 0).ok());
    EXPECT_EQ(status(killed).exit_code(), 137);
}

// The config's stop signal overrides the image's STOPSIGNAL (SIGINT in
// app:entrypoint, whose entrypoint is `/bin/sh -c`), and ContainerStatus
// reports the one in force.
TEST_F(ContainerTest, StopSignalFromTheConfigOverridesTheImage) {
    v1::PullImageRequest pull;
    pull.mutable_image()->set_image(registry_->host() + "/app:entrypoint");
    v1::PullImageResponse pulled;
    auto context = deadline_context(60s);
    ASSERT_TRUE(images_->PullImage(context.get(), pull, &pulled).ok());
    const std::string script =
        "trap 'echo got INT; exit 3' INT; trap 'echo got USR1; exit 7' USR1; echo ready; "
        "while true; do sleep 0.1; done";
    const auto started = [&](const std::string& name, v1::Signal signal) {
        auto settings = config(name, {}, "/app:entrypoint");
        settings.add_args(script);
        settings.set_stop_signal(signal);
        const auto id = run(settings);
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (log_of(name).find("ready") == std::string::npos &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(50ms);
        return id;
    };
    v1::Signal usr1 = v1::RUNTIME_DEFAULT;
    ASSERT_TRUE(v1::Signal_Parse("SIGUSR1", &usr1));
    v1::Signal interrupt = v1::RUNTIME_DEFAULT;
    ASSERT_TRUE(v1::Signal_Parse("SIGINT", &interrupt));
    v1::Signal terminate = v1::RUNTIME_DEFAULT;
    ASSERT_TRUE(v1::Signal_Parse("SIGTERM", &terminate));

    const auto image_default = started("image-default", v1::RUNTIME_DEFAULT);
    EXPECT_EQ(status(image_default).stop_signal(), interrupt);
    ASSERT_TRUE(stop(image_default, 20).ok());
    EXPECT_EQ(status(image_default).exit_code(), 3);
    EXPECT_NE(log_of("image-default").find("got INT"), std::string::npos);

    const auto overridden = started("overridden", usr1);
    EXPECT_EQ(status(overridden).stop_signal(), usr1);
    ASSERT_TRUE(stop(overridden, 20).ok());
    EXPECT_EQ(status(overridden).exit_code(), 7);
    EXPECT_NE(log_of("overridden").find("got USR1"), std::string::npos);

    // An image without STOPSIGNAL is stopped with SIGTERM, and says so.
    const auto plain = run(config("plain", {"sleep", "1000"}));
    EXPECT_EQ(status(plain).stop_signal(), terminate);

    // A value outside the enum is refused before anything is made.
    auto bad = config("bad-signal", {"sleep", "1"});
    bad.set_stop_signal(static_cast<v1::Signal>(99));
    std::string id;
    const auto refused = create(bad, &id);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(refused.error_message().find("config.stop_signal"), std::string::npos)
        << refused.error_message();
}

TEST_F(ContainerTest, UsersGroupsAndCapabilities) {
    // The image's USER 1000, resolved in the image's own /etc/passwd.
    const auto image_user = run(config("imageuser", {"id"}, "/busybox:user"));
    wait_exited(image_user);
    EXPECT_NE(log_of("imageuser").find("uid=1000(app) gid=1000(app)"), std::string::npos)
        << log_of("imageuser");

    auto explicit_user = config("runas", {"id"});
    explicit_user.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(
        1000);
    explicit_user.mutable_linux()->mutable_security_context()->mutable_run_as_group()->set_value(
        2000);
    wait_exited(run(explicit_user));
    EXPECT_NE(log_of("runas").find("uid=1000(app) gid=2000(extra)"), std::string::npos)
        << log_of("runas");

    auto caps = config("caps", {"sh", "-c", "grep CapEff /proc/self/status"});
    auto* capabilities = caps.mutable_linux()->mutable_security_context()->mutable_capabilities();
    capabilities->add_drop_capabilities("ALL");
    capabilities->add_add_capabilities("NET_ADMIN");
    wait_exited(run(caps));
    // CAP_NET_ADMIN is bit 12 and alone.
    EXPECT_NE(log_of("caps").find("CapEff:\t0000000000001000"), std::string::npos)
        << log_of("caps");

    auto bad_cap = config("badcap", {"true"});
    bad_cap.mutable_linux()
        ->mutable_security_context()
        ->mutable_capabilities()
        ->add_add_capabilities("NOPE");
    EXPECT_EQ(create(bad_cap, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

    // A group without a user would pair the image's user with a group
    // meant for another one.
    auto group_only = config("grouponly", {"id"});
    group_only.mutable_linux()->mutable_security_context()->mutable_run_as_group()->set_value(2000);
    const auto refused = create(group_only, nullptr);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(refused.error_message().find("run_as_group"), std::string::npos)
        << refused.error_message();
}

// Merge (the default) adds the groups the image's /etc/group lists the user
// in; Strict gives exactly the primary and the requested ones. Status
// reports what the process has, `id -G` inside agrees.
TEST_F(ContainerTest, SupplementalGroupsPolicyAndTheReportedUser) {
    const auto sorted_numbers = [](const std::string& text) {
        std::vector<std::int64_t> numbers;
        std::istringstream in(text);
        for (std::int64_t n = 0; in >> n;)
            numbers.push_back(n);
        std::sort(numbers.begin(), numbers.end());
        return numbers;
    };
    for (const auto policy : {v1::Merge, v1::Strict}) {
        const std::string name = policy == v1::Merge ? "merge" : "strict";
        auto groups = config(name, {"id", "-G"}, "/busybox:user");
        auto* context = groups.mutable_linux()->mutable_security_context();
        context->mutable_run_as_user()->set_value(1000);
        context->add_supplemental_groups(1234);
        context->set_supplemental_groups_policy(policy);
        const auto exited = wait_exited(run(groups));
        const std::vector<std::int64_t> expected = policy == v1::Merge
                                                       ? std::vector<std::int64_t>{1000, 1234, 2000}
                                                       : std::vector<std::int64_t>{1000, 1234};
        EXPECT_EQ(sorted_numbers(cri_log_text(log_of(name), "stdout")), expected) << name;
        ASSERT_TRUE(exited.has_user()) << name;
        EXPECT_EQ(exited.user().linux().uid(), 1000);
        EXPECT_EQ(exited.user().linux().gid(), 1000);
        const auto& reported = exited.user().linux().supplemental_groups();
        EXPECT_EQ(sorted_numbers(std::accumulate(reported.begin(), reported.end(), std::string(),
                                                 [](std::string all, std::int64_t g) {
                                                     return all + std::to_string(g) + " ";
                                                 })),
                  expected)
            << name;
    }
}

TEST_F(ContainerTest, ReadOnlyRootAndSeccomp) {
    auto readonly =
        config("readonly", {"sh", "-c", "touch /written && echo wrote || echo refused"});
    readonly.mutable_linux()->mutable_security_context()->set_readonly_rootfs(true);
    wait_exited(run(readonly));
    EXPECT_EQ(cri_log_text(log_of("readonly"), "stdout"), "refused\n");

    // RuntimeDefault refuses unshare(2); Unconfined allows it.
    auto confined = config("confined", {"/bin/busybox", "unshare", "-U", "true"});
    confined.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(
        v1::SecurityProfile::RuntimeDefault);
    const auto exited = wait_exited(run(confined));
    EXPECT_NE(exited.exit_code(), 0);
    EXPECT_NE(log_of("confined").find("Operation not permitted"), std::string::npos)
        << log_of("confined");

    auto missing = config("missing", {"true"});
    auto* profile = missing.mutable_linux()->mutable_security_context()->mutable_seccomp();
    profile->set_profile_type(v1::SecurityProfile::Localhost);
    profile->set_localhost_ref("/nonexistent/profile.json");
    const auto result = create(missing, nullptr);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(result.error_message().find("/nonexistent/profile.json"), std::string::npos)
        << result.error_message();
}

// The CRI's seccomp contract, as critest checks it: no profile named means
// unconfined, RuntimeDefault filters, a privileged container has no filter
// whatever it names, and RuntimeDefault allows what a capability the
// container has is for (unshare and sethostname with CAP_SYS_ADMIN).
TEST_F(ContainerTest, SeccompFollowsTheCriContract) {
    const auto seccomp_mode = [&](const std::string& name) {
        const auto log = cri_log_text(log_of(name), "stdout");
        const auto at = log.find("Seccomp:");
        return at == std::string::npos ? log : log.substr(at, log.find('\n', at) - at);
    };
    const std::vector<std::string> show = {"sh", "-c", "grep Seccomp: /proc/self/status"};
    wait_exited(run(config("unnamed", show)));
    EXPECT_EQ(seccomp_mode("unnamed"), "Seccomp:\t0");

    auto filtered = config("filtered", show);
    filtered.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(
        v1::SecurityProfile::RuntimeDefault);
    wait_exited(run(filtered));
    EXPECT_EQ(seccomp_mode("filtered"), "Seccomp:\t2");

    const std::string refuse_all = daemon_->dir() / "refuse-all.json";
    std::ofstream(refuse_all) << R"({"defaultAction": "SCMP_ACT_ERRNO"})";
    auto privileged = config("privileged", show);
    auto* context = privileged.mutable_linux()->mutable_security_context();
    context->set_privileged(true);
    context->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
    context->mutable_seccomp()->set_localhost_ref(refuse_all);
    wait_exited(run(privileged));
    EXPECT_EQ(seccomp_mode("privileged"), "Seccomp:\t0");

    // A UTS namespace of the container's own: the node's hostname is safe.
    const std::vector<std::string> rename = {
        "/bin/busybox", "unshare", "-u", "/bin/sh", "-c", "hostname inner && hostname"};
    for (const bool admin : {true, false}) {
        const std::string name = admin ? "admin" : "noadmin";
        auto renamer = config(name, rename);
        auto* security = renamer.mutable_linux()->mutable_security_context();
        security->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
        if (admin)
            security->mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
        const auto exited = wait_exited(run(renamer));
        if (admin) {
            EXPECT_EQ(exited.exit_code(), 0) << log_of(name);
            EXPECT_EQ(cri_log_text(log_of(name), "stdout"), "inner\n");
        } else {
            EXPECT_NE(exited.exit_code(), 0);
            EXPECT_NE(log_of(name).find("Operation not permitted"), std::string::npos)
                << log_of(name);
        }
    }
}

// seccomp_use_default_when_empty: RuntimeDefault for containers that name
// no profile, as CRI-O's key of the same name.
TEST_F(ContainerTest, SeccompDefaultWhenEmptyIsAConfigurationChoice) {
    berth::test::BerthdOptions options;
    options.extra_config = "[berth.runtime]\nseccomp_use_default_when_empty = true\n";
    start_daemon(options);
    wait_exited(run(config("unnamed", {"sh", "-c", "grep Seccomp: /proc/self/status"})));
    EXPECT_NE(log_of("unnamed").find("Seccomp:\t2"), std::string::npos) << log_of("unnamed");
}

// A recursive read-only mount is read-only down to its submounts; a plain
// read-only one leaves them as they are. Only handlers whose runtime can
// (runc's `features` lists rro) take one, and Status says which.
TEST_F(ContainerTest, RecursiveReadOnlyMounts) {
    v1::StatusRequest status_request;
    v1::StatusResponse runtime_status;
    auto status_context = deadline_context();
    ASSERT_TRUE(runtime_->Status(status_context.get(), status_request, &runtime_status).ok());
    std::map<std::string, bool> rro;
    for (const auto& handler : runtime_status.runtime_handlers())
        rro[handler.name()] = handler.features().recursive_read_only_mounts();
    EXPECT_TRUE(rro.at(""));
    EXPECT_TRUE(rro.at("runc"));
    if (rro.count("crun")) {
        // crun 1.8 has no `features`; a probe container showed it applies rro.
        EXPECT_TRUE(rro.at("crun"));
    }

    const std::string host = daemon_->dir() / "volume";
    fs::create_directories(host + "/sub");
    ASSERT_EQ(run_command("mount -t tmpfs none " + host + "/sub").exit_code, 0);
    const auto mounted = [&](const std::string& name, bool recursive,
                             v1::MountPropagation propagation = v1::PROPAGATION_PRIVATE,
                             bool readonly = true) {
        auto container = config(name, {"sh", "-c",
                                       "touch /mnt/sub/file && echo sub-writable; "
                                       "touch /mnt/file && echo top-writable; true"});
        auto* m = container.add_mounts();
        m->set_host_path(host);
        m->set_container_path("/mnt");
        m->set_readonly(readonly);
        m->set_recursive_read_only(recursive);
        m->set_propagation(propagation);
        return container;
    };
    wait_exited(run(mounted("plain", false)));
    EXPECT_EQ(cri_log_text(log_of("plain"), "stdout"), "sub-writable\n");
    wait_exited(run(mounted("recursive", true)));
    EXPECT_EQ(cri_log_text(log_of("recursive"), "stdout"), "");
    EXPECT_NE(log_of("recursive").find("Read-only file system"), std::string::npos);

    for (const auto& [name, bad] :
         {std::pair{"writable", mounted("writable", true, v1::PROPAGATION_PRIVATE, false)},
          std::pair{"slave", mounted("slave", true, v1::PROPAGATION_HOST_TO_CONTAINER)},
          std::pair{"shared", mounted("shared", true, v1::PROPAGATION_BIDIRECTIONAL)}}) {
        const auto refused = create(bad, nullptr);
        EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
        EXPECT_NE(refused.error_message().find("recursive_read_only"), std::string::npos)
            << refused.error_message();
    }
    if (rro.count("crun")) {
        const auto crun_pod = run_pod("crunpod", "crun");
        std::string crun_id;
        const auto created = create(mounted("viacrun", true), &crun_id, crun_pod);
        ASSERT_TRUE(created.ok()) << created.error_message();
        ASSERT_TRUE(start(crun_id).ok());
        wait_exited(crun_id);
        const std::string crun_log = read_file(daemon_->dir() / "logs/crunpod/viacrun.log");
        EXPECT_EQ(cri_log_text(crun_log, "stdout"), "");
        EXPECT_NE(crun_log.find("Read-only file system"), std::string::npos);
    }
}

TEST_F(ContainerTest, MemoryLimitGivesOomKilled) {
    auto hungry = config(
        "hungry", {"/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"});
    hungry.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(16 << 20);
    const auto exited = wait_exited(run(hungry));
    EXPECT_EQ(exited.reason(), "OOMKilled");
    EXPECT_EQ(exited.exit_code(), 137);
}

TEST_F(ContainerTest, PartialLinesAreLoggedWhole) {
    const auto id = run(config("partial", {"sh", "-c",
                                           "i=0; s=aaaaaaaaaaaaaaaa; while [ $i -lt 12 ]; do "
                                           "s=$s$s; i=$((i+1)); done; echo $s; printf tail"}));
    wait_exited(id);
    const std::string text = cri_log_text(log_of("partial"), "stdout");
    // 16 * 2^12 = 65536 characters on one line, then "tail" without a newline.
    ASSERT_EQ(text.size(), 65536u + 1 + 4 + 1) << text.substr(0, 100);
    EXPECT_EQ(text.substr(0, 65536), std::string(65536, 'a'));
    EXPECT_EQ(text.substr(65536), "\ntail\n");
    EXPECT_NE(log_of("partial").find(" stdout P "), std::string::npos);
}

TEST_F(ContainerTest, ListFiltersAndReopenLog) {
    auto labelled = config("labelled", {"sleep", "1000"});
    (*labelled.mutable_labels())["tier"] = "web";
    const auto web = run(labelled);
    const auto other = run(config("other", {"true"}));
    wait_exited(other);

    auto list = [&](const v1::ContainerFilter& filter) {
        v1::ListContainersRequest request;
        *request.mutable_filter() = filter;
        v1::ListContainersResponse response;
        auto context = deadline_context();
        EXPECT_TRUE(runtime_->ListContainers(context.get(), request, &response).ok());
        std::vector<std::string> ids;
        for (const auto& container : response.containers())
            ids.push_back(container.id());
        return ids;
    };
    EXPECT_EQ(list({}).size(), 2u);
    v1::ContainerFilter by_label;
    (*by_label.mutable_label_selector())["tier"] = "web";
    EXPECT_EQ(list(by_label), std::vector<std::string>{web});
    v1::ContainerFilter running;
    running.mutable_state()->set_state(v1::CONTAINER_RUNNING);
    EXPECT_EQ(list(running), std::vector<std::string>{web});
    v1::ContainerFilter by_prefix;
    by_prefix.set_id(other.substr(0, 10));
    EXPECT_EQ(list(by_prefix), std::vector<std::string>{other});
    v1::ContainerFilter by_pod;
    by_pod.set_pod_sandbox_id(pod_.substr(0, 12));
    EXPECT_EQ(list(by_pod).size(), 2u);
    by_pod.set_pod_sandbox_id("ffff");
    EXPECT_TRUE(list(by_pod).empty());
    EXPECT_EQ(status(web.substr(0, 12)).id(), web);

    // ReopenContainerLog: after the log is moved away, a new file appears.
    const std::string log = daemon_->dir() / "logs/pod/labelled.log";
    fs::rename(log, log + ".1");
    v1::ReopenContainerLogRequest reopen;
    reopen.set_container_id(web);
    v1::ReopenContainerLogResponse reopened;
    auto context = deadline_context();
    ASSERT_TRUE(runtime_->ReopenContainerLog(context.get(), reopen, &reopened).ok());
    EXPECT_TRUE(fs::exists(log));
    reopen.set_container_id(other);
    auto exited_context = deadline_context();
    EXPECT_EQ(runtime_->ReopenContainerLog(exited_context.get(), reopen, &reopened).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ContainerTest, RestartKeepsRunningContainersAndLearnsMissedExits) {
    std::vector<std::string> sleepers, quitters;
    for (int i = 0; i < 7; ++i)
        sleepers.push_back(run(config("sleeper" + std::to_string(i), {"sleep", "1000"})));
    for (int i = 0; i < 3; ++i) {
        quitters.push_back(run(config("quitter" + std::to_string(i),
                                      {"sh", "-c", "sleep 2; exit " + std::to_string(10 + i)})));
    }
    // kill -9 the daemon; the quitters exit while it is down.
    daemon_->process().signal(SIGKILL);
    daemon_->process().wait_for_exit(10s);
    std::this_thread::sleep_for(3s);
    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    connect();

    v1::ListContainersResponse listed;
    auto context = deadline_context();
    ASSERT_TRUE(runtime_->ListContainers(context.get(), {}, &listed).ok());
    EXPECT_EQ(listed.containers_size(), 10);
    for (const auto& id : sleepers)
        EXPECT_EQ(status(id).state(), v1::CONTAINER_RUNNING) << id;
    for (std::size_t i = 0; i < quitters.size(); ++i) {
        const auto exited = status(quitters[i]);
        EXPECT_EQ(exited.state(), v1::CONTAINER_EXITED);
        EXPECT_EQ(exited.exit_code(), static_cast<int>(10 + i));
        EXPECT_GT(exited.finished_at(), exited.started_at());
    }
    // Running containers can still be stopped after the restart.
    ASSERT_TRUE(stop(sleepers[0], 10).ok());
    EXPECT_EQ(status(sleepers[0]).exit_code(), 143);

    // Removing the pod removes its containers: no monitors, no mounts left.
    v1::RemovePodSandboxRequest remove_pod;
    remove_pod.set_pod_sandbox_id(pod_);
    v1::RemovePodSandboxResponse removed;
    auto remove_context = deadline_context(60s);
    ASSERT_TRUE(runtime_->RemovePodSandbox(remove_context.get(), remove_pod, &removed).ok());
    v1::ListContainersResponse after;
    auto after_context = deadline_context();
    ASSERT_TRUE(runtime_->ListContainers(after_context.get(), {}, &after).ok());
    EXPECT_EQ(after.containers_size(), 0);
    EXPECT_EQ(read_file("/proc/self/mountinfo")
                  .find(daemon_->dir().path().string() + "/root/storage/containers/"),
              std::string::npos);
    const auto monitors =
        run_command("pgrep -f '[b]erth-conmon --cid .*" + daemon_->dir().path().string() + "'");
    EXPECT_NE(monitors.exit_code, 0) << monitors.output;
}

TEST_F(ContainerTest, UpdateResourcesReachesTheCgroup) {
    auto limited = config("limited", {"sleep", "1000"});
    limited.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(128 << 20);
    const auto id = run(limited);
    v1::ContainerStatusRequest request;
    request.set_container_id(id);
    request.set_verbose(true);
    v1::ContainerStatusResponse response;
    auto context = deadline_context();
    ASSERT_TRUE(runtime_->ContainerStatus(context.get(), request, &response).ok());
    const std::string cgroup = nlohmann::json::parse(response.info().at("info"))
                                   .at("runtimeSpec")
                                   .at("linux")
                                   .at("cgroupsPath");
    const std::string limit_file = "/sys/fs/cgroup/memory" + cgroup + "/memory.limit_in_bytes";
    if (!fs::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
        GTEST_SKIP() << "SKIPPED: no cgroup v1 memory hierarchy here to read limits from";
    }
    EXPECT_EQ(read_file(limit_file), std::to_string(128 << 20) + "\n");

    v1::UpdateContainerResourcesRequest update;
    update.set_container_id(id);
    update.mutable_linux()->set_memory_limit_in_bytes(64 << 20);
    update.mutable_linux()->set_cpu_shares(512);
    v1::UpdateContainerResourcesResponse updated;
    auto update_context = deadline_context();
    const auto result = runtime_->UpdateContainerResources(update_context.get(), update, &updated);
    ASSERT_TRUE(result.ok()) << result.error_message();
    EXPECT_EQ(read_file(limit_file), std::to_string(64 << 20) + "\n");
    EXPECT_EQ(read_file("/sys/fs/cgroup/cpu" + cgroup + "/cpu.shares"), "512\n");
    EXPECT_EQ(status(id).resources().linux().memory_limit_in_bytes(), 64 << 20);
}

TEST_F(ContainerTest, ExecSyncRunsInTheContainer) {
    auto exec = [&](const std::string& id, const std::vector<std::string>& command,
                    std::int64_t timeout, v1::ExecSyncResponse* response) {
        v1::ExecSyncRequest request;
        request.set_container_id(id);
        for (const auto& part : command)
            request.add_cmd(part);
        request.set_timeout(timeout);
        auto context = deadline_context(30s);
        return runtime_->ExecSync(context.get(), request, response);
    };
    auto user = config("probe", {"sleep", "1000"}, "/busybox:user");
    const auto id = run(user);
    v1::ExecSyncResponse response;
    // As the container's own process: user 1000, its cwd and env.
    ASSERT_TRUE(exec(id, {"sh", "-c", "id -u; echo err >&2; exit 3"}, 10, &response).ok());
    EXPECT_EQ(response.stdout(), "1000\n");
    EXPECT_EQ(response.stderr(), "err\n");
    EXPECT_EQ(response.exit_code(), 3);

    // A timeout kills the command, and nothing of it is left behind.
    const auto begin = std::chrono::steady_clock::now();
    const auto timed_out =
        exec(id, {"sh", "-c", "echo $$ > /tmp/probe.pid; sleep 60"}, 1, &response);
    EXPECT_EQ(timed_out.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << timed_out.error_message();
    EXPECT_NE(timed_out.error_message().find("timed out"), std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 10s);
    ASSERT_TRUE(
        exec(id,
             {"sh", "-c", "kill -0 $(cat /tmp/probe.pid) 2>/dev/null && echo alive || echo gone"},
             10, &response)
            .ok());
    EXPECT_EQ(response.stdout(), "gone\n");

    // 20 MiB of output: capped, the cut said in stderr, the reply still fits
    // in one gRPC message (16 MiB by default).
    auto big = exec(id, {"/bin/busybox", "head", "-c", "20971520", "/dev/zero"}, 30, &response);
    ASSERT_TRUE(big.ok()) << big.error_message();
    EXPECT_GT(response.stdout().size(), 15u << 20);
    EXPECT_LE(response.stdout().size() + response.stderr().size(), 16u << 20);
    EXPECT_NE(response.stderr().find("berth:"), std::string::npos)
        << response.stderr().substr(0, 200);
    EXPECT_EQ(response.exit_code(), 0);

    EXPECT_EQ(exec(id, {}, 10, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(exec("ffffffffffff", {"true"}, 10, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
    ASSERT_TRUE(stop(id, 0).ok());
    EXPECT_EQ(exec(id, {"true"}, 10, &response).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ContainerTest, RestoreUndoesAContainerHalfCreatedAtACrash) {
    // A crash between `runtime create` and the record's final write leaves a
    // record still "creating", a mounted root filesystem and runc state.
    std::string id;
    ASSERT_TRUE(create(config("halfway", {"sleep", "1000"}), &id).ok());
    daemon_->process().signal(SIGKILL);
    daemon_->process().wait_for_exit(10s);
    const std::string record_file = daemon_->dir() / ("root/containers/" + id + "/container.json");
    auto record = nlohmann::json::parse(read_file(record_file));
    record["state"] = "creating";
    std::ofstream(record_file, std::ios::trunc) << record.dump();
    const std::string rootfs = daemon_->dir() / ("root/storage/containers/" + id + "/merged");
    ASSERT_NE(read_file("/proc/self/mountinfo").find(rootfs), std::string::npos);

    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    connect();
    grpc::Status result;
    status(id, &result);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(read_file("/proc/self/mountinfo").find(rootfs), std::string::npos);
    EXPECT_FALSE(fs::exists(daemon_->dir() / ("root/containers/" + id)));
    const auto monitors = run_command("pgrep -f '[b]erth-conmon --cid " + id + "'");
    EXPECT_NE(monitors.exit_code, 0) << monitors.output;
    // The name is free again.
    EXPECT_TRUE(create(config("halfway", {"true"}), nullptr).ok());
}

TEST_F(ContainerTest, CrunRunsContainersToo) {
    std::string why;
    if (!prepare_host_for_crun(why)) {
        GTEST_SKIP() << "SKIPPED: crun containers not tested: " << why;
    }
    const auto pod = run_pod("crunpod", "crun");
    std::string id;
    const auto created =
        create(config("viacrun", {"sh", "-c", "echo from crun; exit 3"}), &id, pod);
    ASSERT_TRUE(created.ok()) << created.error_message();
    ASSERT_TRUE(start(id).ok());
    const auto exited = wait_exited(id);
    EXPECT_EQ(exited.exit_code(), 3);
    v1::ContainerStatusRequest request;
    request.set_container_id(id);
    request.set_verbose(true);
    v1::ContainerStatusResponse response;
    auto context = deadline_context();
    ASSERT_TRUE(runtime_->ContainerStatus(context.get(), request, &response).ok());
    EXPECT_EQ(nlohmann::json::parse(response.info().at("info")).at("runtimeHandler"), "crun");
    EXPECT_NE(read_file(daemon_->dir() / "logs/crunpod/viacrun.log").find("stdout F from crun"),
              std::string::npos);
}

TEST_F(ContainerTest, BadInputGetsClearErrors) {
    std::string id;
    auto unknown_pod = create(config("c", {"true"}), nullptr, "ffffffffffff");
    EXPECT_EQ(unknown_pod.error_code(), grpc::StatusCode::NOT_FOUND) << unknown_pod.error_message();
    auto nameless = config("", {"true"});
    EXPECT_EQ(create(nameless, nullptr).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    auto missing_image = config("c", {"true"}, "/nothing:here");
    const auto no_image = create(missing_image, nullptr);
    EXPECT_EQ(no_image.error_code(), grpc::StatusCode::NOT_FOUND) << no_image.error_message();
    EXPECT_NE(no_image.error_message().find("image"), std::string::npos);

    // A name that cannot be an image is a bad request, not a missing image
    // (kubelet would try to pull it); a 10 KB one comes back cut.
    for (const std::string& bad :
         {std::string("UPPER/Case:tag"), std::string("a b"), std::string(10000, 'a') + "/B"}) {
        auto unnamed = config("c", {"true"});
        unnamed.mutable_image()->set_image(bad);
        const auto refused = create(unnamed, nullptr);
        EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << refused.error_message();
        EXPECT_LT(refused.error_message().size(), 2500u);
    }
    // A hugepage size becomes a cgroup file name.
    auto hugepages = config("hugepages", {"true"});
    auto* limit = hugepages.mutable_linux()->mutable_resources()->add_hugepage_limits();
    limit->set_page_size("../../x");
    limit->set_limit(1 << 21);
    const auto bad_size = create(hugepages, nullptr);
    EXPECT_EQ(bad_size.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(bad_size.error_message().find("hugepage_limits.page_size"), std::string::npos)
        << bad_size.error_message();

    ASSERT_TRUE(create(config("twice", {"sleep", "1000"}), &id).ok());
    const auto taken = create(config("twice", {"sleep", "1000"}), nullptr);
    EXPECT_EQ(taken.error_code(), grpc::StatusCode::ALREADY_EXISTS) << taken.error_message();
    ASSERT_TRUE(start(id).ok());
    v1::UpdateContainerResourcesRequest update;
    update.set_container_id(id);
    auto* update_limit = update.mutable_linux()->add_hugepage_limits();
    update_limit->set_page_size("../../x");
    update_limit->set_limit(1 << 21);
    v1::UpdateContainerResourcesResponse updated;
    auto update_context = deadline_context();
    EXPECT_EQ(
        runtime_->UpdateContainerResources(update_context.get(), update, &updated).error_code(),
        grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(start(id).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(start("ffffffffffff").error_code(), grpc::StatusCode::NOT_FOUND);
    // Stopping or removing what is not there succeeds (a retry of a call
    // whose answer was lost); an empty id is a bad request.
    EXPECT_TRUE(stop("ffffffffffff", 1).ok());
    EXPECT_EQ(stop("", 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    grpc::Status result;
    status("ffffffffffff", &result);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_TRUE(remove("ffffffffffff").ok());

    // A stopped pod takes no new containers.
    v1::StopPodSandboxRequest stop_pod;
    stop_pod.set_pod_sandbox_id(pod_);
    v1::StopPodSandboxResponse stopped;
    auto context = deadline_context(60s);
    ASSERT_TRUE(runtime_->StopPodSandbox(context.get(), stop_pod, &stopped).ok());
    EXPECT_EQ(status(id).state(), v1::CONTAINER_EXITED);  // stopping the pod stopped it
    const auto in_stopped = create(config("late", {"true"}), nullptr);
    EXPECT_EQ(in_stopped.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << in_stopped.error_message();
    // The daemon is still healthy.
    v1::VersionResponse version;
    auto version_context = deadline_context();
    EXPECT_TRUE(runtime_->Version(version_context.get(), {}, &version).ok());
}

}  // namespace
