// The RPC handlers built so far, called directly (no socket): what they
// answer for good and bad requests.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "berth/config/loader.hpp"
#include "berth/oci/runtime_handlers.hpp"
#include "berth/version.hpp"
#include "config_holder.hpp"
#include "server/image_service.hpp"
#include "server/runtime_service.hpp"
#include "temp_dir.hpp"

namespace v1 = runtime::v1;
using berth::test::TempDir;

namespace {

class ServerTest : public testing::Test {
protected:
    // A configuration that reads nothing from /etc, with `extra` appended;
    // OCI handlers are usable only with a `conmon`.
    void load(const std::string& extra = "", const std::string& conmon = "") {
        dir_.write("berth.conf",
                   "[berth.network]\nnetwork_dir = \"" + (dir_ / "net.d") + "\"\n" + extra);
        berth::config::LoadOptions options;
        options.config_file = dir_ / "berth.conf";
        options.config_dir = dir_ / "berth.conf.d";
        holder_ = std::make_unique<berth::daemon::ConfigHolder>(berth::config::load(options));
        state_ =
            std::make_unique<berth::daemon::server::ServerState>(*holder_, "berth-unpack", conmon);
        service_ = std::make_unique<berth::daemon::server::CriRuntimeService>(*state_);
    }

    v1::StatusResponse status(bool verbose = false) {
        v1::StatusRequest request;
        request.set_verbose(verbose);
        v1::StatusResponse response;
        EXPECT_TRUE(service_->Status(nullptr, &request, &response).ok());
        return response;
    }

    static const v1::RuntimeCondition& condition(const v1::StatusResponse& response,
                                                 const std::string& type) {
        for (const auto& c : response.status().conditions()) {
            if (c.type() == type) {
                return c;
            }
        }
        throw std::runtime_error("no condition " + type);
    }

    TempDir dir_;
    std::unique_ptr<berth::daemon::ConfigHolder> holder_;
    std::unique_ptr<berth::daemon::server::ServerState> state_;
    std::unique_ptr<berth::daemon::server::CriRuntimeService> service_;
};

}  // namespace

TEST_F(ServerTest, VersionNamesBerthAndV1) {
    load();
    v1::VersionRequest request;
    v1::VersionResponse response;
    ASSERT_TRUE(service_->Version(nullptr, &request, &response).ok());
    EXPECT_EQ(response.version(), "0.1.0");
    EXPECT_EQ(response.runtime_name(), "berth");
    EXPECT_EQ(response.runtime_version(), berth::kVersion);
    EXPECT_EQ(response.runtime_api_version(), "v1");
}

TEST_F(ServerTest, NetworkNotReadyWithoutCniConfig) {
    load();
    const auto response = status();
    const auto& network = condition(response, "NetworkReady");
    EXPECT_FALSE(network.status());
    EXPECT_EQ(network.reason(), "NetworkPluginNotReady");
    EXPECT_NE(network.message().find(dir_ / "net.d"), std::string::npos) << network.message();
}

TEST_F(ServerTest, NetworkReadyOnceAValidConfigAppears) {
    load();
    dir_.write("net.d/05-broken.conflist", "{not json");
    dir_.write("net.d/07-empty.conflist", R"({"cniVersion":"1.0.0","name":"x","plugins":[]})");
    EXPECT_FALSE(condition(status(), "NetworkReady").status());
    dir_.write("net.d/10-bridge.conflist",
               R"({"cniVersion":"1.0.0","name":"berth","plugins":[{"type":"bridge"}]})");
    const auto response = status(true);
    EXPECT_TRUE(condition(response, "NetworkReady").status());
    const auto network = nlohmann::json::parse(response.info().at("cniNetwork"));
    EXPECT_EQ(network["name"], "berth");
}

TEST_F(ServerTest, RuntimeReadyFollowsTheDefaultHandlersBinary) {
    load();
    EXPECT_TRUE(condition(status(), "RuntimeReady").status());
    load(
        "[berth.runtime]\ndefault_runtime = \"runc\"\n"
        "[berth.runtime.runtimes.runc]\nruntime_path = \"/nonexistent/runc\"\n");
    const auto response = status();
    const auto& runtime = condition(response, "RuntimeReady");
    EXPECT_FALSE(runtime.status());
    EXPECT_EQ(runtime.reason(), "RuntimeBinaryMissing");
    EXPECT_NE(runtime.message().find("/nonexistent/runc"), std::string::npos);
}

TEST_F(ServerTest, StatusListsHandlersAndVerboseConfig) {
    load("[berth]\nroot = \"/srv/berth-root\"\n");
    const auto quiet = status(false);
    EXPECT_TRUE(quiet.info().empty());
    std::vector<std::string> names;
    for (const auto& handler : quiet.runtime_handlers()) {
        names.push_back(handler.name());
    }
    EXPECT_EQ(names.front(), "");
    EXPECT_NE(std::find(names.begin(), names.end(), "runc"), names.end());

    const auto verbose = status(true);
    const auto config = nlohmann::json::parse(verbose.info().at("config"));
    EXPECT_EQ(config["berth"]["root"], "/srv/berth-root");
}

// Each handler's features come from its runtime's own features document
// (runc's `features`); a runtime without one (crun 1.8) has none.
TEST_F(ServerTest, StatusReportsFeaturesPerHandler) {
    const auto executable = [&](const std::string& name, const std::string& script) {
        const std::string path = dir_.write(name, "#!/bin/sh\n" + script);
        std::filesystem::permissions(path, std::filesystem::perms::owner_all);
        return path;
    };
    const auto with_rro = executable(
        "rro-runtime", "[ \"$1\" = features ] && echo '{\"mountOptions\": [\"ro\", \"rro\"]}'\n");
    const auto without = executable("plain-runtime", "echo 'unknown command' >&2; exit 1\n");
    load(
        "[berth.runtime]\ndefault_runtime = \"withrro\"\n"
        "[berth.runtime.runtimes.withrro]\nruntime_path = \"" +
            with_rro +
            "\"\n"
            "[berth.runtime.runtimes.plain]\nruntime_path = \"" +
            without + "\"\n",
        "/bin/true");
    const auto response = status();
    std::map<std::string, v1::RuntimeHandlerFeatures> features;
    for (const auto& handler : response.runtime_handlers()) {
        ASSERT_TRUE(handler.has_features()) << handler.name();
        features[handler.name()] = handler.features();
    }
    EXPECT_TRUE(features.at("").recursive_read_only_mounts());  // the default handler's
    EXPECT_TRUE(features.at("withrro").recursive_read_only_mounts());
    EXPECT_FALSE(features.at("plain").recursive_read_only_mounts());
    // Every handler here is an OCI one, which can join a pod's user
    // namespace; the host (kernel 6.x, root) can make one and idmap mounts.
    for (const auto& [name, handler] : features) {
        EXPECT_TRUE(handler.user_namespaces()) << name;
    }
    EXPECT_TRUE(response.features().supplemental_groups_policy());
}

TEST_F(ServerTest, RuntimeConfigReportsTheCgroupDriver) {
    load();
    v1::RuntimeConfigRequest request;
    v1::RuntimeConfigResponse response;
    ASSERT_TRUE(service_->RuntimeConfig(nullptr, &request, &response).ok());
    EXPECT_EQ(response.linux().cgroup_driver(), v1::CGROUPFS);
    load("[berth.runtime]\ncgroup_manager = \"systemd\"\n");
    ASSERT_TRUE(service_->RuntimeConfig(nullptr, &request, &response).ok());
    EXPECT_EQ(response.linux().cgroup_driver(), v1::SYSTEMD);
}

TEST_F(ServerTest, UpdateRuntimeConfigRecordsValidCidrs) {
    load();
    v1::UpdateRuntimeConfigRequest request;
    v1::UpdateRuntimeConfigResponse response;
    request.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(
        "10.244.1.0/24,fd00:10:244:1::/64");
    ASSERT_TRUE(service_->UpdateRuntimeConfig(nullptr, &request, &response).ok());
    EXPECT_EQ(status(true).info().at("podCIDR"), "10.244.1.0/24,fd00:10:244:1::/64");

    for (const char* bad :
         {"10.244.1.0", "10.244.1.0/33", "banana/8", "10.0.0.0/24,", "::/129", "10.0.0.0/2x"}) {
        request.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(bad);
        const auto result = service_->UpdateRuntimeConfig(nullptr, &request, &response);
        EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    }
    // The last good value is kept.
    EXPECT_EQ(status(true).info().at("podCIDR"), "10.244.1.0/24,fd00:10:244:1::/64");
}

TEST_F(ServerTest, RpcsNameThemselvesInTheirErrors) {
    load();
    v1::ExecRequest exec;
    v1::ExecResponse exec_response;
    auto result = service_->Exec(nullptr, &exec, &exec_response);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(result.error_message().find("Exec"), std::string::npos);

    // Built RPCs name themselves in their errors too.
    berth::daemon::server::CriImageService images(*state_);
    v1::PullImageRequest pull;
    v1::PullImageResponse pull_response;
    result = images.PullImage(nullptr, &pull, &pull_response);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(result.error_message().find("PullImage: no image given"), std::string::npos);
}

TEST(RuntimeHandlers, ResolveDefaultAndRejectUnknownNames) {
    berth::config::RuntimeConfig runtime;
    runtime.default_runtime = "runc";
    runtime.runtimes["runc"].runtime_path = "/usr/sbin/runc";
    runtime.runtimes["kata"].runtime_path = "/nonexistent/kata";
    runtime.runtimes["kata"].runtime_type = berth::config::RuntimeType::Vm;
    berth::oci::RuntimeHandlers handlers(runtime);
    ASSERT_NE(handlers.find(""), nullptr);
    EXPECT_EQ(handlers.find("")->runtime_path, "/usr/sbin/runc");
    EXPECT_EQ(handlers.find("kata")->runtime_type, berth::config::RuntimeType::Vm);
    EXPECT_EQ(handlers.find("gvisor"), nullptr);
    EXPECT_EQ(handlers.unknown_handler_message("gvisor"),
              "runtime handler \"gvisor\" is not configured (configured: kata, runc)");
    const auto problems = handlers.check_binaries();
    ASSERT_FALSE(problems.empty());
    EXPECT_EQ(problems.front().handler, "kata");
}
