// The CRI ImageService of a real berthd against a real registry
// (docker-registry on 127.0.0.1, filled by tests/fixtures/make_test_images.py):
// pulls by tag, digest, through mirrors, with basic and bearer auth, from an
// index; listing, status, removal, garbage collection; corrupt and hostile
// content; a crash in the middle of a pull.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "berthd_instance.hpp"
#include "test_registry.hpp"

namespace v1 = runtime::v1;
namespace fs = std::filesystem;
using berth::test::BerthdInstance;
using berth::test::BerthdOptions;
using berth::test::deadline_context;
using berth::test::read_file;
using berth::test::RegistryAuth;
using berth::test::TestRegistry;
using namespace std::chrono_literals;

namespace {

const nlohmann::json& image(const std::string& name) {
    return TestRegistry::images().at(name);
}

class ImageTest : public testing::Test {
protected:
    void start_daemon(const std::string& extra_config = "") {
        BerthdOptions options;
        options.extra_config = extra_config;
        daemon_ = std::make_unique<BerthdInstance>(options);
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
        images_ = daemon_->image();
    }

    grpc::Status pull(const std::string& name, std::string* image_ref = nullptr,
                      const v1::AuthConfig* auth = nullptr) {
        v1::PullImageRequest request;
        request.mutable_image()->set_image(name);
        if (auth != nullptr)
            *request.mutable_auth() = *auth;
        v1::PullImageResponse response;
        auto context = deadline_context(60s);
        const auto status = images_->PullImage(context.get(), request, &response);
        if (image_ref != nullptr)
            *image_ref = response.image_ref();
        return status;
    }

    std::vector<v1::Image> list(const std::string& filter = "") {
        v1::ListImagesRequest request;
        if (!filter.empty())
            request.mutable_filter()->mutable_image()->set_image(filter);
        v1::ListImagesResponse response;
        auto context = deadline_context();
        EXPECT_TRUE(images_->ListImages(context.get(), request, &response).ok());
        return {response.images().begin(), response.images().end()};
    }

    v1::ImageStatusResponse status(const std::string& name, bool verbose = false) {
        v1::ImageStatusRequest request;
        request.mutable_image()->set_image(name);
        request.set_verbose(verbose);
        v1::ImageStatusResponse response;
        auto context = deadline_context();
        const auto result = images_->ImageStatus(context.get(), request, &response);
        EXPECT_TRUE(result.ok()) << result.error_message();
        return response;
    }

    grpc::Status remove(const std::string& name) {
        v1::RemoveImageRequest request;
        request.mutable_image()->set_image(name);
        v1::RemoveImageResponse response;
        auto context = deadline_context();
        return images_->RemoveImage(context.get(), request, &response);
    }

    fs::path storage() const { return daemon_->dir() / "root/storage"; }

    std::size_t count_entries(const fs::path& dir) const {
        std::size_t count = 0;
        std::error_code error;
        for (auto it = fs::directory_iterator(dir, error); !error && it != fs::directory_iterator();
             ++it)
            ++count;
        return count;
    }

    // The unpacked layer directories that hold `file` (relative path).
    std::vector<fs::path> layers_with(const std::string& file) const {
        std::vector<fs::path> found;
        for (const auto& layer : fs::directory_iterator(storage() / "layers")) {
            if (fs::exists(layer.path() / "diff" / file))
                found.push_back(layer.path() / "diff");
        }
        return found;
    }

    std::unique_ptr<BerthdInstance> daemon_;
    std::unique_ptr<v1::ImageService::Stub> images_;
};

TEST_F(ImageTest, PullByTagThenListStatusAndRemove) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    start_daemon();

    const auto& expected = image("busybox:multi");
    const std::string name = registry.host() + "/busybox:multi";
    std::string ref;
    const auto pulled = pull(name, &ref);
    ASSERT_TRUE(pulled.ok()) << pulled.error_message() << daemon_->log();
    EXPECT_EQ(ref, expected.at("config").get<std::string>());

    const auto listed = list();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].id(), ref);
    ASSERT_EQ(listed[0].repo_tags_size(), 1);
    EXPECT_EQ(listed[0].repo_tags(0), name);
    ASSERT_EQ(listed[0].repo_digests_size(), 1);
    EXPECT_EQ(listed[0].repo_digests(0),
              registry.host() + "/busybox@" + expected.at("manifest").get<std::string>());
    EXPECT_GT(listed[0].size(), 900'000u);  // busybox-static is about a megabyte

    // Three layers, unpacked; the whiteout of layer 3 is an overlay whiteout.
    EXPECT_EQ(count_entries(storage() / "layers"), 3u);
    const auto whiteouts = layers_with("data/a");
    ASSERT_EQ(whiteouts.size(), 2u);  // the file in layer 2, the whiteout in layer 3

    // Status by tag, by id, by id prefix, by digest; verbose has the config.
    const auto by_tag = status(name, true);
    EXPECT_EQ(by_tag.image().id(), ref);
    const auto info = nlohmann::json::parse(by_tag.info().at("info"));
    EXPECT_EQ(info.at("imageSpec").at("config").at("Cmd"), nlohmann::json::array({"/bin/sh"}));
    EXPECT_EQ(info.at("manifestDigest"), expected.at("manifest"));
    EXPECT_EQ(status(ref).image().id(), ref);
    EXPECT_EQ(status(ref.substr(7, 12)).image().id(), ref);
    EXPECT_EQ(status(registry.host() + "/busybox@" + expected.at("manifest").get<std::string>())
                  .image()
                  .id(),
              ref);
    EXPECT_FALSE(status(registry.host() + "/busybox:other").has_image());
    EXPECT_EQ(list(name).size(), 1u);
    EXPECT_EQ(list(registry.host() + "/nothing:here").size(), 0u);

    // Filesystem usage counts the layers.
    v1::ImageFsInfoResponse fs_info;
    auto context = deadline_context();
    ASSERT_TRUE(images_->ImageFsInfo(context.get(), v1::ImageFsInfoRequest{}, &fs_info).ok());
    ASSERT_EQ(fs_info.image_filesystems_size(), 1);
    EXPECT_EQ(fs_info.image_filesystems(0).fs_id().mountpoint(), storage().string());
    EXPECT_GT(fs_info.image_filesystems(0).used_bytes().value(), 900'000u);
    EXPECT_GT(fs_info.image_filesystems(0).inodes_used().value(), 10u);

    // Removal takes the layers and blobs with it; removing again is fine.
    ASSERT_TRUE(remove(name).ok());
    EXPECT_TRUE(list().empty());
    EXPECT_EQ(count_entries(storage() / "layers"), 0u);
    EXPECT_EQ(count_entries(storage() / "blobs/sha256"), 0u);
    EXPECT_TRUE(remove(name).ok());
}

TEST_F(ImageTest, PullByDigestIsIdempotentAndDownloadsEachBlobOnce) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    start_daemon();
    const auto& expected = image("busybox:multi");
    const std::string by_digest =
        registry.host() + "/busybox@" + expected.at("manifest").get<std::string>();

    std::string first, second;
    ASSERT_TRUE(pull(by_digest, &first).ok());
    ASSERT_TRUE(pull(by_digest, &second).ok());
    EXPECT_EQ(first, second);
    const auto listed = list();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].repo_tags_size(), 0);  // a digest names no tag
    EXPECT_EQ(listed[0].repo_digests(0), by_digest);

    // Pulling by tag afterwards adds the tag to the same image.
    ASSERT_TRUE(pull(registry.host() + "/busybox:multi").ok());
    ASSERT_EQ(list().size(), 1u);
    EXPECT_EQ(list()[0].repo_tags(0), registry.host() + "/busybox:multi");
    for (const auto& layer : expected.at("layers")) {
        EXPECT_EQ(registry.count_requests("GET /v2/busybox/blobs/" + layer.get<std::string>()), 1)
            << layer;
    }
}

TEST_F(ImageTest, ConcurrentPullsOfOneImageShareOneDownload) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    registry.push("busybox:user");  // shares its first layer with busybox:multi
    start_daemon();

    std::vector<std::thread> pullers;
    std::vector<grpc::Status> results(6);
    for (std::size_t i = 0; i < results.size(); ++i) {
        pullers.emplace_back([&, i] {
            results[i] = pull(registry.host() + (i % 2 == 0 ? "/busybox:multi" : "/busybox:user"));
        });
    }
    for (auto& puller : pullers)
        puller.join();
    for (const auto& result : results)
        EXPECT_TRUE(result.ok()) << result.error_message();
    EXPECT_EQ(list().size(), 2u);
    const std::string shared_layer = image("busybox:multi").at("layers").at(0);
    ASSERT_EQ(shared_layer, image("busybox:user").at("layers").at(0).get<std::string>());
    EXPECT_EQ(registry.count_requests("GET /v2/busybox/blobs/" + shared_layer), 1);
    EXPECT_EQ(count_entries(storage() / "layers"), 3u);

    // Garbage collection keeps the layer the remaining image still uses.
    ASSERT_TRUE(remove(registry.host() + "/busybox:user").ok());
    EXPECT_EQ(count_entries(storage() / "layers"), 3u);
    ASSERT_TRUE(remove(registry.host() + "/busybox:multi").ok());
    EXPECT_EQ(count_entries(storage() / "layers"), 0u);
}

TEST_F(ImageTest, RemovingOneOfTwoTagsOnlyUntags) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    registry.push("busybox:multi", "busybox:again");
    start_daemon();
    ASSERT_TRUE(pull(registry.host() + "/busybox:multi").ok());
    ASSERT_TRUE(pull(registry.host() + "/busybox:again").ok());
    ASSERT_EQ(list().size(), 1u);
    EXPECT_EQ(list()[0].repo_tags_size(), 2);

    ASSERT_TRUE(remove(registry.host() + "/busybox:again").ok());
    const auto listed = list();
    ASSERT_EQ(listed.size(), 1u);
    ASSERT_EQ(listed[0].repo_tags_size(), 1);
    EXPECT_EQ(listed[0].repo_tags(0), registry.host() + "/busybox:multi");
    // Removal by id removes it whatever its tags.
    ASSERT_TRUE(remove(listed[0].id()).ok());
    EXPECT_TRUE(list().empty());
}

TEST_F(ImageTest, PullThroughMirrorKeepsTheRequestedName) {
    TestRegistry mirror;
    ASSERT_TRUE(mirror.start()) << mirror.log();
    mirror.push("busybox:multi", "e2e-test-images/busybox:1.29-2");
    // A dead mirror first: it is skipped, the next one serves.
    start_daemon("[berth.image.mirrors]\n\"registry.k8s.io\" = [\"http://127.0.0.1:1\", \"http://" +
                 mirror.host() + "\"]\n");

    std::string ref;
    const auto pulled = pull("registry.k8s.io/e2e-test-images/busybox:1.29-2", &ref);
    ASSERT_TRUE(pulled.ok()) << pulled.error_message() << daemon_->log();
    EXPECT_EQ(ref, image("busybox:multi").at("config").get<std::string>());
    EXPECT_GE(mirror.count_requests("GET /v2/e2e-test-images/busybox/manifests/1.29-2"), 1);
    const auto listed = list();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].repo_tags(0), "registry.k8s.io/e2e-test-images/busybox:1.29-2");
    EXPECT_TRUE(status("registry.k8s.io/e2e-test-images/busybox:1.29-2").has_image());
}

TEST_F(ImageTest, BasicAuthNeedsTheRightCredentials) {
    TestRegistry registry({RegistryAuth::Basic, "berth", "s3cret"});
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:user");
    start_daemon();
    const std::string name = registry.host() + "/busybox:user";

    auto result = pull(name);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::UNAUTHENTICATED) << result.error_message();
    EXPECT_NE(result.error_message().find("registry " + registry.host()), std::string::npos);

    v1::AuthConfig wrong;
    wrong.set_username("berth");
    wrong.set_password("wrong");
    result = pull(name, nullptr, &wrong);
    EXPECT_FALSE(result.ok());
    EXPECT_TRUE(result.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                result.error_code() == grpc::StatusCode::UNAUTHENTICATED)
        << result.error_code() << " " << result.error_message();
    EXPECT_TRUE(list().empty());

    v1::AuthConfig bad_field;
    bad_field.set_auth("%%%not base64");
    EXPECT_EQ(pull(name, nullptr, &bad_field).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

    // The `auth` field form: base64("user:password").
    v1::AuthConfig right;
    right.set_auth("YmVydGg6czNjcmV0");
    result = pull(name, nullptr, &right);
    ASSERT_TRUE(result.ok()) << result.error_message() << daemon_->log();
    EXPECT_EQ(list().size(), 1u);
    // Credentials never reach the log.
    EXPECT_EQ(daemon_->log().find("s3cret"), std::string::npos);
    EXPECT_EQ(daemon_->log().find("YmVydGg6czNjcmV0"), std::string::npos);
}

TEST_F(ImageTest, BearerTokenAuthAndBlobRedirects) {
    TestRegistry registry({RegistryAuth::Bearer, "berth", "s3cret"});
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    start_daemon();
    const std::string name = registry.host() + "/busybox:multi";

    auto result = pull(name);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::UNAUTHENTICATED) << result.error_message();

    v1::AuthConfig credentials;
    credentials.set_username("berth");
    credentials.set_password("s3cret");
    result = pull(name, nullptr, &credentials);
    ASSERT_TRUE(result.ok()) << result.error_message() << "\n" << registry.log();
    EXPECT_EQ(list().size(), 1u);
    EXPECT_EQ(count_entries(storage() / "layers"), 3u);
}

TEST_F(ImageTest, IndexPullsTheHostPlatform) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("multiarch:1");
    start_daemon();
    std::string ref;
    const auto result = pull(registry.host() + "/multiarch:1", &ref);
    ASSERT_TRUE(result.ok()) << result.error_message();
    const auto& amd64 = image("multiarch:1").at("platforms").at("linux/amd64");
    EXPECT_EQ(ref, amd64.at("config").get<std::string>());
    const auto arch_files = layers_with("arch");
    ASSERT_EQ(arch_files.size(), 1u);
    EXPECT_EQ(read_file(arch_files[0] / "arch"), "amd64\n");
    // The repo digest is the index's, as `docker pull` shows it.
    EXPECT_EQ(
        list()[0].repo_digests(0),
        registry.host() + "/multiarch@" + image("multiarch:1").at("manifest").get<std::string>());
}

TEST_F(ImageTest, ZstdAndUncompressedLayers) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:zstd");
    start_daemon();
    const auto result = pull(registry.host() + "/busybox:zstd");
    ASSERT_TRUE(result.ok()) << result.error_message();
    EXPECT_EQ(layers_with("bin/busybox").size(), 1u);
    EXPECT_EQ(layers_with("hello").size(), 1u);
}

TEST_F(ImageTest, UserAndConfigReachImageStatus) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:user");
    registry.push("app:entrypoint");
    start_daemon("[berth.image]\npinned_images = [\"*/app:*\"]\n");
    ASSERT_TRUE(pull(registry.host() + "/busybox:user").ok());
    ASSERT_TRUE(pull(registry.host() + "/app:entrypoint").ok());
    const auto user = status(registry.host() + "/busybox:user").image();
    ASSERT_TRUE(user.has_uid());
    EXPECT_EQ(user.uid().value(), 1000);
    const auto app = status(registry.host() + "/app:entrypoint", true);
    EXPECT_FALSE(app.image().has_uid());
    EXPECT_EQ(app.image().username(), "app");
    // pinned_images: kubelet's image GC leaves the app image alone.
    EXPECT_TRUE(app.image().pinned());
    EXPECT_FALSE(user.pinned());
    const auto config = nlohmann::json::parse(app.info().at("info")).at("config");
    EXPECT_EQ(config.at("entrypoint"), nlohmann::json::array({"/bin/sh", "-c"}));
    EXPECT_EQ(config.at("working_dir"), "/work");
    EXPECT_EQ(config.at("stop_signal"), "SIGINT");
    EXPECT_EQ(config.at("exposed_ports"), nlohmann::json::array({"8080/tcp"}));
    EXPECT_EQ(config.at("volumes"), nlohmann::json::array({"/cache"}));
}

TEST_F(ImageTest, BadReferencesAndUnknownImagesAreClearErrors) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    start_daemon();
    auto result = pull("");
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    result = pull("Busy Box:latest");
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << result.error_message();
    EXPECT_NE(result.error_message().find("invalid image reference"), std::string::npos);

    result = pull(registry.host() + "/busybox:nope");
    EXPECT_EQ(result.error_code(), grpc::StatusCode::NOT_FOUND) << result.error_message();
    EXPECT_NE(result.error_message().find("registry " + registry.host() +
                                          ": manifest unknown for busybox:nope"),
              std::string::npos)
        << result.error_message();

    result = pull("127.0.0.1:1/busybox:latest");  // nothing listens there
    EXPECT_EQ(result.error_code(), grpc::StatusCode::UNAVAILABLE) << result.error_message();

    v1::ImageStatusRequest empty;
    v1::ImageStatusResponse response;
    auto context = deadline_context();
    EXPECT_EQ(images_->ImageStatus(context.get(), empty, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(remove("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(list().empty());
}

TEST_F(ImageTest, CorruptBlobFailsThePullAndLeavesNothing) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    registry.corrupt_blob(image("busybox:multi").at("layers").at(1).get<std::string>());
    start_daemon();
    const auto result = pull(registry.host() + "/busybox:multi");
    EXPECT_EQ(result.error_code(), grpc::StatusCode::DATA_LOSS) << result.error_message();
    EXPECT_NE(result.error_message().find("does not match its digest"), std::string::npos)
        << result.error_message();
    EXPECT_TRUE(list().empty());
    EXPECT_EQ(count_entries(storage() / "tmp"), 0u);
    // Layers that did verify may stay (a later pull reuses them), but only
    // complete ones: each has its record.
    for (const auto& layer : fs::directory_iterator(storage() / "layers")) {
        EXPECT_TRUE(fs::exists(layer.path() / "layer.json")) << layer.path();
    }
}

TEST_F(ImageTest, HostileLayersAreRejectedAndContained) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    for (const auto* evil : {"evil:dotdot", "evil:symlink", "evil:hardlink"})
        registry.push(evil);
    start_daemon();
    for (const auto* evil : {"evil:dotdot", "evil:symlink", "evil:hardlink"}) {
        const auto result = pull(registry.host() + "/" + evil);
        EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << evil << ": " << result.error_message();
        EXPECT_NE(result.error_message().find("entry"), std::string::npos)
            << result.error_message();
    }
    EXPECT_TRUE(list().empty());
    EXPECT_EQ(count_entries(storage() / "layers"), 0u);
    EXPECT_EQ(count_entries(storage() / "tmp"), 0u);
    EXPECT_FALSE(fs::exists("/tmp/escaped-symlink"));
    EXPECT_FALSE(fs::exists(storage() / "escaped-dotdot"));
    EXPECT_FALSE(fs::exists(storage().parent_path() / "escaped-dotdot"));
}

TEST_F(ImageTest, ImagesSurviveARestart) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    registry.push("busybox:multi");
    start_daemon();
    std::string ref;
    ASSERT_TRUE(pull(registry.host() + "/busybox:multi", &ref).ok());
    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    images_ = daemon_->image();
    const auto listed = list();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].id(), ref);
    EXPECT_EQ(count_entries(storage() / "layers"), 3u);
}

TEST_F(ImageTest, CrashInTheMiddleOfAPullLeavesNoBrokenImage) {
    TestRegistry registry;
    ASSERT_TRUE(registry.start()) << registry.log();
    const auto big = registry.push_big(48);
    start_daemon();

    std::thread puller([&] { (void)pull(registry.host() + "/big:1"); });
    // Kill the daemon while the first blob is being written.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    bool downloading = false;
    while (!downloading && std::chrono::steady_clock::now() < deadline) {
        for (const auto& entry : fs::directory_iterator(storage() / "tmp")) {
            if (entry.path().filename().string().rfind("blob-", 0) == 0 &&
                fs::file_size(entry.path()) > 0) {
                downloading = true;
            }
        }
        std::this_thread::sleep_for(2ms);
    }
    ASSERT_TRUE(downloading) << "no download seen";
    ASSERT_TRUE(daemon_->crash_and_restart()) << daemon_->log();
    puller.join();
    images_ = daemon_->image();

    EXPECT_TRUE(list().empty());
    EXPECT_EQ(count_entries(storage() / "tmp"), 0u);
    EXPECT_EQ(count_entries(storage() / "images"), 0u);
    for (const auto& layer : fs::directory_iterator(storage() / "layers")) {
        EXPECT_TRUE(fs::exists(layer.path() / "layer.json")) << layer.path();
    }
    // And the pull then completes.
    std::string ref;
    const auto result = pull(registry.host() + "/big:1", &ref);
    ASSERT_TRUE(result.ok()) << result.error_message();
    EXPECT_EQ(ref, big.at("config").get<std::string>());
}

}  // namespace
