// The mappings a pod may ask for with userns_options, without a daemon.
#include <gtest/gtest.h>

#include "sandbox/user_namespace_mapping.hpp"
#include "status_error.hpp"

namespace v1 = runtime::v1;
using berth::daemon::StatusError;
using berth::daemon::sandbox::check_container_user_namespace;
using berth::daemon::sandbox::id_map_line;
using berth::daemon::sandbox::IdRange;
using berth::daemon::sandbox::overlapping_host_range;
using berth::daemon::sandbox::pod_user_namespace_mapping;
using berth::daemon::sandbox::UserNamespaceMapping;

namespace {

v1::NamespaceOption* namespaces(v1::PodSandboxConfig& config) {
    return config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
}

void add_range(google::protobuf::RepeatedPtrField<v1::IDMapping>* field, std::uint32_t container,
               std::uint32_t host, std::uint32_t length) {
    auto* mapping = field->Add();
    mapping->set_container_id(container);
    mapping->set_host_id(host);
    mapping->set_length(length);
}

v1::PodSandboxConfig pod(std::uint32_t container, std::uint32_t host, std::uint32_t length) {
    v1::PodSandboxConfig config;
    auto* userns = namespaces(config)->mutable_userns_options();
    userns->set_mode(v1::POD);
    add_range(userns->mutable_uids(), container, host, length);
    add_range(userns->mutable_gids(), container, host, length);
    return config;
}

// The status code and message of the error `config` is refused with.
std::pair<grpc::StatusCode, std::string> refusal(const v1::PodSandboxConfig& config) {
    try {
        pod_user_namespace_mapping(config);
    } catch (const StatusError& error) {
        return {error.code(), error.what()};
    }
    return {grpc::StatusCode::OK, ""};
}

}  // namespace

TEST(UserNamespaceMapping, AbsentOrNodeMeansTheHostsUserNamespace) {
    EXPECT_FALSE(pod_user_namespace_mapping(v1::PodSandboxConfig{}));
    v1::PodSandboxConfig node;
    namespaces(node)->mutable_userns_options()->set_mode(v1::NODE);
    EXPECT_FALSE(pod_user_namespace_mapping(node));
}

TEST(UserNamespaceMapping, PodModeGivesTheRanges) {
    auto config = pod(0, 100000, 65536);
    namespaces(config)->mutable_userns_options()->mutable_gids(0)->set_host_id(200000);
    const auto mapping = pod_user_namespace_mapping(config);
    ASSERT_TRUE(mapping);
    EXPECT_EQ(mapping->uids, (IdRange{0, 100000, 65536}));
    EXPECT_EQ(mapping->gids, (IdRange{0, 200000, 65536}));
    EXPECT_EQ(id_map_line(mapping->uids), "0 100000 65536\n");
}

TEST(UserNamespaceMapping, RefusesContainerAndTargetModes) {
    for (const auto mode : {v1::CONTAINER, v1::TARGET}) {
        v1::PodSandboxConfig config;
        namespaces(config)->mutable_userns_options()->set_mode(mode);
        const auto [code, message] = refusal(config);
        EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_NE(message.find("userns_options.mode"), std::string::npos) << message;
    }
}

TEST(UserNamespaceMapping, RefusesMalformedRanges) {
    struct Case {
        v1::PodSandboxConfig config;
        std::string field;
    };
    std::vector<Case> cases;
    cases.push_back({pod(1, 1000, 100000), "userns_options.uids"});           // 0 unmapped
    cases.push_back({pod(0, 1000, 0), "userns_options.uids[0].length"});      // empty
    cases.push_back({pod(0, 4294967000u, 65536), "userns_options.uids[0]"});  // overflow
    cases.push_back({pod(0, 0, 65536), "userns_options.uids[0].host_id"});    // host root
    auto two = pod(0, 1000, 100000);
    add_range(namespaces(two)->mutable_userns_options()->mutable_uids(), 0, 2000, 100000);
    cases.push_back({two, "userns_options.uids"});
    auto no_gids = pod(0, 1000, 100000);
    namespaces(no_gids)->mutable_userns_options()->clear_gids();
    cases.push_back({no_gids, "userns_options.gids"});
    auto mode_node_with_ranges = pod(0, 1000, 100000);
    namespaces(mode_node_with_ranges)->mutable_userns_options()->set_mode(v1::NODE);
    cases.push_back({mode_node_with_ranges, "userns_options"});
    for (const auto& [config, field] : cases) {
        const auto [code, message] = refusal(config);
        EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT) << field;
        EXPECT_NE(message.find(field), std::string::npos) << message;
    }
}

TEST(UserNamespaceMapping, RefusesHostNamespacesBesideIt) {
    for (const auto set : {&v1::NamespaceOption::set_network, &v1::NamespaceOption::set_ipc,
                           &v1::NamespaceOption::set_pid}) {
        auto config = pod(0, 100000, 65536);
        (namespaces(config)->*set)(v1::NODE);
        EXPECT_EQ(refusal(config).first, grpc::StatusCode::INVALID_ARGUMENT);
    }
}

TEST(UserNamespaceMapping, FindsOverlappingHostRanges) {
    const UserNamespaceMapping a{{0, 100000, 65536}, {0, 100000, 65536}};
    const UserNamespaceMapping next{{0, 165536, 65536}, {0, 165536, 65536}};
    const UserNamespaceMapping inside{{0, 120000, 10}, {0, 300000, 10}};
    const UserNamespaceMapping gids_only{{0, 500000, 10}, {0, 165535, 10}};
    EXPECT_EQ(overlapping_host_range(a, next), "");
    EXPECT_EQ(overlapping_host_range(next, a), "");
    EXPECT_EQ(overlapping_host_range(a, inside), "uids");
    EXPECT_EQ(overlapping_host_range(inside, a), "uids");
    EXPECT_EQ(overlapping_host_range(a, gids_only), "gids");
    const UserNamespaceMapping top{{0, 4294901759u, 65536}, {0, 4294901759u, 65536}};
    EXPECT_EQ(overlapping_host_range(top, a), "");
}

TEST(UserNamespaceMapping, ContainersFollowTheirPod) {
    const UserNamespaceMapping pod_mapping{{0, 100000, 65536}, {0, 100000, 65536}};
    v1::ContainerConfig plain;
    EXPECT_NO_THROW(check_container_user_namespace(plain, pod_mapping));
    EXPECT_NO_THROW(check_container_user_namespace(plain, std::nullopt));

    v1::ContainerConfig same;
    auto* options = same.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    auto pod_config = pod(0, 100000, 65536);
    *options = *namespaces(pod_config);
    EXPECT_NO_THROW(check_container_user_namespace(same, pod_mapping));
    EXPECT_THROW(check_container_user_namespace(same, std::nullopt), StatusError);

    v1::ContainerConfig other = same;
    other.mutable_linux()
        ->mutable_security_context()
        ->mutable_namespace_options()
        ->mutable_userns_options()
        ->mutable_uids(0)
        ->set_host_id(200000);
    EXPECT_THROW(check_container_user_namespace(other, pod_mapping), StatusError);

    v1::ContainerConfig own = same;
    own.mutable_linux()
        ->mutable_security_context()
        ->mutable_namespace_options()
        ->mutable_userns_options()
        ->set_mode(v1::CONTAINER);
    EXPECT_THROW(check_container_user_namespace(own, pod_mapping), StatusError);
}
