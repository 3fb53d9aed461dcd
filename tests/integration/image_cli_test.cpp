// berthctl's image verbs against a real berthd and a real registry, run as
// an operator runs them: pull (with --creds), images, inspecti, imagefsinfo,
// rmi (--prune), and image import of OCI layouts, OCI archives and
// docker-save tarballs.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::RegistryAuth;
using berth::test::run_command;
using berth::test::TempDir;
using berth::test::TestRegistry;

namespace {

std::string berthctl(const BerthdInstance& berthd, const std::string& arguments) {
    return std::string(BERTHCTL_PATH) + " -r unix://" + berthd.socket_path() + " " + arguments +
           " 2>&1";
}

std::string config_of(const std::string& image) {
    return TestRegistry::images().at(image).at("config").get<std::string>();
}

TEST(BerthctlImages, PullListInspectAndRemove) {
    TestRegistry registry({RegistryAuth::Basic, "berth", "s3cret"});
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    const std::string name = registry.host() + "/busybox:multi";
    const std::string id = config_of("busybox:multi");

    auto result = run_command(berthctl(berthd, "pull " + name));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("authentication required"), std::string::npos) << result.output;
    result = run_command(berthctl(berthd, "pull --creds berth:s3cret " + name));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output, "Image is up to date for " + id + "\n");

    result = run_command(berthctl(berthd, "images"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("IMAGE"), std::string::npos);
    EXPECT_NE(result.output.find(registry.host() + "/busybox"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("multi"), std::string::npos);
    EXPECT_NE(result.output.find(id.substr(7, 13)), std::string::npos);
    EXPECT_NE(result.output.find("MB"), std::string::npos) << result.output;

    result = run_command(berthctl(berthd, "images -q"));
    EXPECT_EQ(result.output, id + "\n");
    result = run_command(berthctl(berthd, "images --digests"));
    EXPECT_NE(result.output.find("DIGEST"), std::string::npos);
    EXPECT_NE(result.output.find(TestRegistry::images()
                                     .at("busybox:multi")
                                     .at("manifest")
                                     .get<std::string>()
                                     .substr(7, 13)),
              std::string::npos);
    result = run_command(berthctl(berthd, "images -o json"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(nlohmann::json::parse(result.output).at("images").at(0).at("id"), id);

    result = run_command(berthctl(berthd, "inspecti " + name));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto inspected = nlohmann::json::parse(result.output);
    EXPECT_EQ(inspected.at("status").at("id"), id);
    EXPECT_EQ(inspected.at("info").at("imageSpec").at("architecture"), "amd64");
    result = run_command(berthctl(berthd, "inspecti " + registry.host() + "/busybox:absent"));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("no such image"), std::string::npos) << result.output;

    result = run_command(berthctl(berthd, "imagefsinfo"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto fs_info = nlohmann::json::parse(result.output);
    EXPECT_GT(
        std::stoull(
            fs_info.at("imageFilesystems").at(0).at("usedBytes").at("value").get<std::string>()),
        900'000u);

    result = run_command(berthctl(berthd, "rmi " + name));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output, "Deleted: " + name + "\n");
    EXPECT_EQ(run_command(berthctl(berthd, "images -q")).output, "");
}

TEST(BerthctlImages, PruneRemovesEveryUnusedImage) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    registry.push("busybox:user");
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    for (const auto* image : {"/busybox:multi", "/busybox:user"}) {
        ASSERT_EQ(run_command(berthctl(berthd, "pull " + registry.host() + image)).exit_code, 0);
    }
    const auto result = run_command(berthctl(berthd, "rmi --prune"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(run_command(berthctl(berthd, "images -q")).output, "");
    EXPECT_TRUE(fs::is_empty(berthd.dir() / "root/storage/layers"));
}

TEST(BerthctlImages, ImportLayoutsAndArchivesWithVerification) {
    BerthdInstance berthd;
    ASSERT_TRUE(berthd.start()) << berthd.log();
    TempDir work;
    const std::string layout = TestRegistry::layout_directory("busybox:multi");
    const std::string id = config_of("busybox:multi");

    // An OCI image layout directory: its ref.name is only a tag, so the
    // image comes in untagged, known by id.
    auto result = run_command(berthctl(berthd, "image import " + layout));
    ASSERT_EQ(result.exit_code, 0) << result.output << berthd.log();
    EXPECT_EQ(result.output, "Imported " + id + "\n");
    EXPECT_EQ(run_command(berthctl(berthd, "images -q")).output, id + "\n");
    ASSERT_EQ(run_command(berthctl(berthd, "rmi " + id)).exit_code, 0);

    // An OCI archive: the same layout as a tarball.
    ASSERT_EQ(run_command("tar -C " + layout + " -cf " + (work / "oci.tar") + " .").exit_code, 0);
    result = run_command(berthctl(berthd, "image import " + (work / "oci.tar")));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output, "Imported " + id + "\n");
    ASSERT_EQ(run_command(berthctl(berthd, "rmi " + id)).exit_code, 0);

    // A docker-save tarball: manifest.json naming the config and layer files,
    // with RepoTags.
    const auto& entry = TestRegistry::images().at("busybox:user");
    const std::string user_layout = TestRegistry::layout_directory("busybox:user");
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& layer : entry.at("layers"))
        layers.push_back("blobs/sha256/" + layer.get<std::string>().substr(7));
    const nlohmann::json manifest = nlohmann::json::array(
        {{{"Config", "blobs/sha256/" + entry.at("config").get<std::string>().substr(7)},
          {"RepoTags", {"example.com/saved/busybox:user"}},
          {"Layers", layers}}});
    work.write("save/manifest.json", manifest.dump());
    ASSERT_EQ(run_command("cp -r " + user_layout + "/blobs " + (work / "save")).exit_code, 0);
    ASSERT_EQ(
        run_command("tar -C " + (work / "save") + " -cf " + (work / "saved.tar") + " .").exit_code,
        0);
    result = run_command(berthctl(berthd, "image import " + (work / "saved.tar")));
    ASSERT_EQ(result.exit_code, 0) << result.output << berthd.log();
    EXPECT_EQ(result.output, "Imported " + entry.at("config").get<std::string>() +
                                 " example.com/saved/busybox:user\n");
    result = run_command(berthctl(berthd, "images"));
    EXPECT_NE(result.output.find("example.com/saved/busybox"), std::string::npos) << result.output;

    // A layout whose blob was tampered with is refused and leaves nothing.
    ASSERT_EQ(run_command("cp -r " + layout + " " + (work / "bad")).exit_code, 0);
    const std::string layer =
        TestRegistry::images().at("busybox:multi").at("layers").at(2).get<std::string>().substr(7);
    // Same size, other bytes: only the digest can tell.
    const std::string blob = work / ("bad/blobs/sha256/" + layer);
    ASSERT_EQ(run_command("printf x | dd of=" + blob + " bs=1 seek=$(($(stat -c %s " + blob +
                          ") - 1)) conv=notrunc status=none")
                  .exit_code,
              0);
    result = run_command(berthctl(berthd, "image import " + (work / "bad")));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("does not match its digest"), std::string::npos) << result.output;
    EXPECT_EQ(run_command(berthctl(berthd, "images -q")).output,
              entry.at("config").get<std::string>() + "\n");

    // Neither a layout nor an archive; and a path that does not exist.
    result = run_command(berthctl(berthd, "image import " + work.path().string()));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.output.find("neither an OCI image layout"), std::string::npos)
        << result.output;
    result = run_command(berthctl(berthd, "image import /nonexistent/x.tar"));
    EXPECT_NE(result.output.find("does not exist"), std::string::npos) << result.output;
    EXPECT_TRUE(fs::is_empty(berthd.dir() / "root/storage/tmp"));
}

}  // namespace
