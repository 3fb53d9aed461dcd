// The default runtime handler: crun where it can create containers, else
// runc with a log line saying why; and the probe that decides it, against
// the real runc and crun and against a runtime that refuses the host the
// way crun 1.8 refuses a cgroup v1 hybrid host.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "berth/oci/runtime_probe.hpp"
#include "berthd_instance.hpp"
#include "child_process.hpp"
#include "cri_session.hpp"
#include "cri_test.hpp"
#include "crun_host.hpp"
#include "temp_dir.hpp"

namespace v1 = runtime::v1;
using berth::test::BerthdOptions;
using berth::test::CriSession;
using berth::test::CriTest;
using berth::test::read_file;
using berth::test::TempDir;

namespace {

constexpr const char* kRefusal = "cgroups in hybrid mode not supported, drop all controllers";

// A runtime that refuses every create as crun 1.8 does on a hybrid host,
// and accepts the delete that follows.
std::string write_refusing_runtime(const TempDir& dir) {
    dir.write("refusing-runtime",
              std::string("#!/bin/sh\nfor a; do [ \"$a\" = create ] && { echo '") + kRefusal +
                  "' >&2; exit 1; }; done\nexit 0\n");
    const std::string path = dir / "refusing-runtime";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
}

bool mounted_below(const std::string& dir) {
    return read_file("/proc/self/mountinfo").find(" " + dir + "/") != std::string::npos;
}

// The probe of a real runtime: usable, `rro` applied, and nothing left of
// it (directory, tmpfs).
void expect_usable_with_recursive_read_only(const std::string& runtime) {
    TempDir dir;
    const std::string work = dir / "probe";
    const auto probe = berth::oci::probe_runtime(runtime, work, BERTH_POD_INIT_PATH);
    EXPECT_TRUE(probe.usable) << probe.why;
    EXPECT_TRUE(probe.recursive_read_only);
    EXPECT_FALSE(std::filesystem::exists(work));
    EXPECT_FALSE(mounted_below(work));
}

TEST(RuntimeProbeTest, RuncCreatesAndAppliesRecursiveReadOnly) {
    expect_usable_with_recursive_read_only("/usr/sbin/runc");
}

TEST(RuntimeProbeTest, CrunCreatesAndAppliesRecursiveReadOnly) {
    std::string why;
    if (!berth::test::prepare_host_for_crun(why))
        GTEST_SKIP() << "SKIPPED LOUDLY: crun cannot run here: " << why;
    // crun 1.8 has no `features` command: this probe is the only way
    // berthd learns that it applies `rro`.
    expect_usable_with_recursive_read_only("/usr/bin/crun");
}

TEST(RuntimeProbeTest, ARefusingRuntimeIsNotUsableAndSaysWhy) {
    TempDir dir;
    const std::string work = dir / "probe";
    const auto probe =
        berth::oci::probe_runtime(write_refusing_runtime(dir), work, BERTH_POD_INIT_PATH);
    EXPECT_FALSE(probe.usable);
    EXPECT_FALSE(probe.recursive_read_only);
    EXPECT_EQ(probe.why, kRefusal);
    EXPECT_FALSE(std::filesystem::exists(work));
    EXPECT_FALSE(mounted_below(work));
}

class DefaultRuntimeTest : public CriTest {
protected:
    static void SetUpTestSuite() { start_registry({"busybox:multi"}); }

    // Runs a pod naming no handler with one sleeping container; returns the
    // container's id.
    std::string run_default_container() {
        const std::string pod = cri_->run_pod("default-handler");
        return cri_->run(
            pod, CriSession::container("sleeper", reference("busybox:multi"), {"sleep", "300"}));
    }

    bool runs_under(const std::string& handler, const std::string& id) const {
        return std::filesystem::exists(daemon_->runtime_root(handler) + "/" + id);
    }
};

TEST_F(DefaultRuntimeTest, CrunRunsPodsThatNameNoHandler) {
    std::string why;
    if (!berth::test::prepare_host_for_crun(why))
        GTEST_SKIP() << "SKIPPED LOUDLY: crun cannot run here: " << why;
    start_daemon({}, {"busybox:multi"});
    EXPECT_NE(daemon_->log().find("(default runtime crun)"), std::string::npos) << daemon_->log();
    const std::string id = run_default_container();
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(runs_under("crun", id));
    EXPECT_FALSE(runs_under("runc", id));
}

TEST_F(DefaultRuntimeTest, RuncIsTheDefaultWhenCrunCannotCreateContainers) {
    TempDir dir;
    BerthdOptions options;
    options.handler_settings["crun"] = "runtime_path = \"" + write_refusing_runtime(dir) + "\"\n";
    start_daemon(options, {"busybox:multi"});
    const std::string log = daemon_->log();
    EXPECT_NE(log.find(kRefusal), std::string::npos) << log;
    EXPECT_NE(log.find("the default runtime handler is runc"), std::string::npos) << log;
    EXPECT_NE(log.find("(default runtime runc)"), std::string::npos) << log;
    const std::string id = run_default_container();
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(runs_under("runc", id));
}

TEST_F(DefaultRuntimeTest, AConfiguredDefaultIsKeptEvenWhenItCannotRun) {
    TempDir dir;
    BerthdOptions options;
    options.handler_settings["crun"] = "runtime_path = \"" + write_refusing_runtime(dir) + "\"\n";
    options.extra_config = "[berth.runtime]\ndefault_runtime = \"crun\"\n";
    start_daemon(options, {"busybox:multi"});
    EXPECT_NE(daemon_->log().find("(default runtime crun)"), std::string::npos) << daemon_->log();
    const std::string pod = cri_->run_pod("configured-default");
    std::string id;
    const auto created = cri_->create(
        pod, CriSession::container("refused", reference("busybox:multi"), {"true"}), &id);
    EXPECT_FALSE(created.ok());
    EXPECT_NE(created.error_message().find(kRefusal), std::string::npos) << created.error_message();
}

}  // namespace
