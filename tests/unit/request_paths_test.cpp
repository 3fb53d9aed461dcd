// The path rules for what a CRI request names (daemon/request_paths.*):
// which values pass, which are refused with a message naming the field, and
// how a bad value is echoed.
#include <gtest/gtest.h>

#include <string>

#include "request_paths.hpp"
#include "status_error.hpp"

namespace paths = berth::daemon::request_paths;
namespace v1 = runtime::v1;
using berth::daemon::StatusError;
using namespace std::string_literals;

namespace {

TEST(RequestPaths, AbsolutePaths) {
    for (const char* good : {"/", "/var/log/pods/ns_pod_uid", "/a/./b/", "/a//b", "/a/..b/c..",
                             "/with space/ünïcode", "/a,b"}) {
        EXPECT_EQ(paths::absolute_path_problem(good), "") << good;
    }
    EXPECT_EQ(paths::absolute_path_problem(""), "must be an absolute path");
    EXPECT_EQ(paths::absolute_path_problem("var/log"), "must be an absolute path");
    EXPECT_EQ(paths::absolute_path_problem("./var"), "must be an absolute path");
    for (const char* climbing : {"/..", "/../etc", "/var/log/../../etc", "/a/.."}) {
        EXPECT_EQ(paths::absolute_path_problem(climbing), "must not contain \"..\" components")
            << climbing;
    }
    for (const std::string& control : {"/a\0b"s, "/a\nb"s, "/a\tb"s, "/a\x7f"s, "/a\rb"s}) {
        EXPECT_NE(paths::absolute_path_problem(control).find("control characters"),
                  std::string::npos);
    }
    EXPECT_EQ(paths::absolute_path_problem("/" + std::string(4094, 'a')), "");
    EXPECT_NE(paths::absolute_path_problem("/" + std::string(4095, 'a')).find("longer than 4095"),
              std::string::npos);
}

TEST(RequestPaths, RelativePaths) {
    for (const char* good : {"c.log", "ctr/0.log", "./c.log", "a//b.log", "..c.log"}) {
        EXPECT_EQ(paths::relative_path_problem(good), "") << good;
    }
    EXPECT_EQ(paths::relative_path_problem(""), "must not be empty");
    EXPECT_NE(paths::relative_path_problem("/tmp/pwn").find("must be a relative path"),
              std::string::npos);
    EXPECT_NE(paths::relative_path_problem("/proc/sys/kernel/hostname").find("relative"),
              std::string::npos);
    for (const char* climbing :
         {"..", "../x", "../../../../../../../../tmp/pwn", "a/../b.log", "a/.."}) {
        EXPECT_EQ(paths::relative_path_problem(climbing), "must not contain \"..\" components")
            << climbing;
    }
    for (const char* directory : {".", "a/", "a/."}) {
        EXPECT_EQ(paths::relative_path_problem(directory), "must name a file") << directory;
    }
    EXPECT_NE(paths::relative_path_problem("c\n.log").find("control characters"),
              std::string::npos);
}

TEST(RequestPaths, Names) {
    for (const char* good : {"web", "a.b", "...", "..a", "ns-1", "ünïcode", "a b"}) {
        EXPECT_EQ(paths::name_problem(good), "") << good;
    }
    EXPECT_EQ(paths::name_problem(""), "must not be empty");
    EXPECT_EQ(paths::name_problem(std::string(253, 'a')), "");
    EXPECT_EQ(paths::name_problem(std::string(254, 'a')), "is longer than 253 bytes");
    EXPECT_EQ(paths::name_problem(std::string(10 * 1024, 'a')), "is longer than 253 bytes");
    EXPECT_EQ(paths::name_problem("."), "must not be \".\" or \"..\"");
    EXPECT_EQ(paths::name_problem(".."), "must not be \".\" or \"..\"");
    EXPECT_EQ(paths::name_problem("a/b"), "must not contain '/'");
    EXPECT_EQ(paths::name_problem("../../etc"), "must not contain '/'");
    for (const std::string& control : {"a\0b"s, "a\nb"s, "\x01"s}) {
        EXPECT_NE(paths::name_problem(control).find("control characters"), std::string::npos);
    }
}

TEST(RequestPaths, EchoedValuesEscapeAndCut) {
    using berth::daemon::quoted_value;
    EXPECT_EQ(quoted_value("plain/path"), "\"plain/path\"");
    EXPECT_EQ(quoted_value("a\nb\0c\"d\\e"s), "\"a\\x0ab\\x00c\\\"d\\\\e\"");
    EXPECT_EQ(quoted_value("\xc3\xbc"), "\"\\xc3\\xbc\"");
    const std::string echoed = quoted_value(std::string(10000, 'a'));
    EXPECT_EQ(echoed, "\"" + std::string(200, 'a') + "\" (10000 bytes, cut)");
}

TEST(RequestPaths, RequireThrowsInvalidArgumentNamingTheField) {
    try {
        paths::require_relative_path("config.log_path", "../../" + std::string(3000, 'x'));
        FAIL() << "not refused";
    } catch (const StatusError& error) {
        EXPECT_EQ(error.code(), grpc::StatusCode::INVALID_ARGUMENT);
        const std::string message = error.what();
        EXPECT_EQ(message.rfind("config.log_path \"../../xxx", 0), 0u) << message;
        EXPECT_NE(message.find("must not contain \"..\" components"), std::string::npos);
        EXPECT_LT(message.size(), 300u);
    }
    EXPECT_NO_THROW(paths::require_absolute_path("location", "/var/lib/c.tar"));
    EXPECT_THROW(paths::require_absolute_path("location", "/var/../c.tar"), StatusError);
    EXPECT_NO_THROW(paths::require_name("config.metadata.name", "web"));
    EXPECT_THROW(paths::require_name("config.metadata.name", ".."), StatusError);
}

// The pod config of RunPodSandbox (and CreateContainer's stored one): the
// log directory, and the metadata the default log layout builds a path of.
TEST(RequestPaths, PodPaths) {
    v1::PodSandboxConfig pod;
    pod.mutable_metadata()->set_name("web");
    pod.mutable_metadata()->set_namespace_("default");
    pod.mutable_metadata()->set_uid("1234-5678");
    EXPECT_NO_THROW(paths::check_pod_paths(pod, "config"));
    pod.set_log_directory("/var/log/pods/default_web_1234-5678");
    EXPECT_NO_THROW(paths::check_pod_paths(pod, "config"));

    const auto refused_field = [&](const v1::PodSandboxConfig& bad, const char* prefix) {
        try {
            paths::check_pod_paths(bad, prefix);
        } catch (const StatusError& error) {
            EXPECT_EQ(error.code(), grpc::StatusCode::INVALID_ARGUMENT);
            const std::string message = error.what();
            return message.substr(0, message.find(' '));
        }
        return std::string("accepted");
    };
    auto bad = pod;
    bad.set_log_directory("var/log/pods/x");
    EXPECT_EQ(refused_field(bad, "config"), "config.log_directory");
    bad.set_log_directory("/var/log/pods/x/../../../../tmp");
    EXPECT_EQ(refused_field(bad, "sandbox_config"), "sandbox_config.log_directory");
    bad = pod;
    bad.mutable_metadata()->set_namespace_("../../../tmp");
    EXPECT_EQ(refused_field(bad, "config"), "config.metadata.namespace");
    bad = pod;
    bad.mutable_metadata()->set_name("..");
    EXPECT_EQ(refused_field(bad, "config"), "config.metadata.name");
    bad = pod;
    bad.mutable_metadata()->set_uid("a\nb");
    EXPECT_EQ(refused_field(bad, "config"), "config.metadata.uid");
}

TEST(RequestPaths, ContainerLogPaths) {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name("app");
    EXPECT_NO_THROW(paths::check_container_log_paths(config));  // no log_path: default layout
    config.set_log_path("app/0.log");
    EXPECT_NO_THROW(paths::check_container_log_paths(config));
    for (const char* bad : {"/tmp/pwn", "../../../../tmp/pwn", "app/../../x.log", "app/"}) {
        config.set_log_path(bad);
        try {
            paths::check_container_log_paths(config);
            ADD_FAILURE() << bad << " accepted";
        } catch (const StatusError& error) {
            EXPECT_EQ(std::string(error.what()).rfind("config.log_path ", 0), 0u) << error.what();
        }
    }
    config.set_log_path("0.log");
    config.mutable_metadata()->set_name("..");
    EXPECT_THROW(paths::check_container_log_paths(config), StatusError);
}

}  // namespace
