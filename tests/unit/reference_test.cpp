// Image references: what users type into crictl and pod specs must name the
// same image it names for docker and containerd, and a bad one must say why.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "berth/storage/reference.hpp"

namespace storage = berth::storage;

namespace {

const std::string kHex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kDigest = "sha256:" + kHex64;
const std::string kSha512 = "sha512:" + kHex64 + kHex64;

struct ValidCase {
    std::string input;
    std::string registry;
    std::string repository;
    std::string tag;
    std::string digest;
};

class ValidReference : public testing::TestWithParam<ValidCase> {};

TEST_P(ValidReference, ParsesIntoFields) {
    const ValidCase& expected = GetParam();
    const storage::Reference reference = storage::parse_reference(expected.input);
    EXPECT_EQ(reference.registry, expected.registry);
    EXPECT_EQ(reference.repository, expected.repository);
    EXPECT_EQ(reference.tag, expected.tag);
    EXPECT_EQ(reference.digest, expected.digest);
    // The canonical form parses back to the same reference.
    EXPECT_EQ(storage::parse_reference(reference.to_string()), reference);
}

const ValidCase kValidCases[] = {
    {"busybox", "docker.io", "library/busybox", "latest", ""},
    {"busybox:1.36", "docker.io", "library/busybox", "1.36", ""},
    {"library/busybox", "docker.io", "library/busybox", "latest", ""},
    {"docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", ""},
    {"docker.io/busybox", "docker.io", "library/busybox", "latest", ""},
    {"index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", ""},
    {"index.docker.io/busybox", "docker.io", "library/busybox", "latest", ""},
    {"bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", ""},
    {"registry.k8s.io/e2e-test-images/busybox:1.29-4", "registry.k8s.io", "e2e-test-images/busybox",
     "1.29-4", ""},
    {"registry:5000/ns/app@" + kDigest, "registry:5000", "ns/app", "", kDigest},
    {"127.0.0.1:5000/app:v1", "127.0.0.1:5000", "app", "v1", ""},
    {"localhost/app", "localhost", "app", "latest", ""},
    {"localhost:5000/team/app:dev", "localhost:5000", "team/app", "dev", ""},
    {"busybox:1.36@" + kDigest, "docker.io", "library/busybox", "1.36", kDigest},
    {"busybox@" + kDigest, "docker.io", "library/busybox", "", kDigest},
    {"quay.io/coreos/etcd@" + kSha512, "quay.io", "coreos/etcd", "", kSha512},
    {"[::1]:5000/app:v2", "[::1]:5000", "app", "v2", ""},
    {"[fe80::1]/app", "[fe80::1]", "app", "latest", ""},
    {"my-registry.example.com/a/b/c/d:tag", "my-registry.example.com", "a/b/c/d", "tag", ""},
    {"Example.COM/app", "Example.COM", "app", "latest", ""},
    {"foo_bar/baz__qux", "docker.io", "foo_bar/baz__qux", "latest", ""},
    {"a.b/c---d.e_f", "a.b", "c---d.e_f", "latest", ""},
    {"app:_underscore", "docker.io", "library/app", "_underscore", ""},
    {"app:" + std::string(128, 'x'), "docker.io", "library/app", std::string(128, 'x'), ""},
    {"app:V1.2-RC_3", "docker.io", "library/app", "V1.2-RC_3", ""},
    {"gcr.io/distroless/static-debian12:nonroot", "gcr.io", "distroless/static-debian12", "nonroot",
     ""},
    {"a", "docker.io", "library/a", "latest", ""},
    {"0/1", "docker.io", "0/1", "latest", ""},
    {"registry-1.docker.io:443/library/nginx", "registry-1.docker.io:443", "library/nginx",
     "latest", ""},
};

INSTANTIATE_TEST_SUITE_P(Table, ValidReference, testing::ValuesIn(kValidCases));

struct InvalidCase {
    std::string input;
    std::string message;  // a substring of the expected message
};

class InvalidReference : public testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidReference, ThrowsNamingTheProblem) {
    const InvalidCase& expected = GetParam();
    try {
        const storage::Reference reference = storage::parse_reference(expected.input);
        FAIL() << expected.input << " parsed as " << reference.to_string();
    } catch (const storage::ReferenceError& error) {
        EXPECT_NE(std::string(error.what()).find(expected.message), std::string::npos)
            << "message: " << error.what();
    }
}

const InvalidCase kInvalidCases[] = {
    {"", "empty"},
    {"Busybox", "must be lowercase"},
    {"library/BusyBox:1", "must be lowercase"},
    {"busy box", "contains a space"},
    {"busybox!", "contains '!'"},
    {"-busybox", "must start and end with a letter or digit"},
    {"busybox-", "must start and end with a letter or digit"},
    {"foo..bar", "must start and end with a letter or digit"},
    {"foo___bar", "must start and end with a letter or digit"},
    {"library//busybox", "empty path component"},
    {"busybox:", "tag after ':' is empty"},
    {"busybox:" + std::string(129, 'a'), "longer than 128"},
    {"busybox:.hidden", "must start with a letter, digit or '_'"},
    {"busybox:a+b", "contains '+'"},
    {"busybox:1:2", "contains ':'"},
    {"busybox@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm \"md5\""},
    {"busybox@sha256:0123", "must have 64 hex characters, got 4"},
    {"busybox@sha512:" + kHex64, "must have 128 hex characters"},
    {"busybox@sha256:" + std::string(64, 'A'), "lowercase hexadecimal"},
    {"busybox@" + kHex64, "algorithm:hex"},
    {"busybox@", "digest after '@' is empty"},
    {kHex64, "looks like an image id"},
    {kDigest, "looks like an image id"},
    {"registry:abc/app", "invalid port"},
    {"registry:/app", "invalid port"},
    {"-bad.example.com/app", "not a valid host name"},
    {"bad..example.com/app", "not a valid host name"},
    {"[::1/app", "unclosed '['"},
    {"[zz::1]:5000/app", "invalid IPv6 address"},
    {"localhost/", "repository name is missing"},
    {":latest", "repository name is missing"},
    {"example.com/" + std::string(250, 'a'), "longer than 255"},
};

INSTANTIATE_TEST_SUITE_P(Table, InvalidReference, testing::ValuesIn(kInvalidCases));

TEST(Reference, Accessors) {
    const storage::Reference both = storage::parse_reference("busybox:1.36@" + kDigest);
    EXPECT_EQ(both.name(), "docker.io/library/busybox");
    EXPECT_EQ(both.tagged(), "docker.io/library/busybox:1.36");
    EXPECT_EQ(both.digested(), "docker.io/library/busybox@" + kDigest);
    EXPECT_EQ(both.to_string(), "docker.io/library/busybox:1.36@" + kDigest);

    const storage::Reference digest_only = storage::parse_reference("busybox@" + kDigest);
    EXPECT_EQ(digest_only.tagged(), "");
    EXPECT_EQ(digest_only.to_string(), "docker.io/library/busybox@" + kDigest);

    const storage::Reference tag_only = storage::parse_reference("localhost:5000/app");
    EXPECT_EQ(tag_only.digested(), "");
    EXPECT_EQ(tag_only.to_string(), "localhost:5000/app:latest");
}

TEST(Reference, ShortNamesTryEachSearchRegistryInOrder) {
    const auto candidates = storage::resolve_reference(
        "busybox:1.36", {"quay.io", "index.docker.io", "localhost:5000"});
    ASSERT_EQ(candidates.size(), 3u);
    EXPECT_EQ(candidates[0].to_string(), "quay.io/busybox:1.36");
    EXPECT_EQ(candidates[1].to_string(), "docker.io/library/busybox:1.36");
    EXPECT_EQ(candidates[2].to_string(), "localhost:5000/busybox:1.36");

    const auto nested = storage::resolve_reference("team/app", {"docker.io", "example.com"});
    ASSERT_EQ(nested.size(), 2u);
    EXPECT_EQ(nested[0].to_string(), "docker.io/team/app:latest");
    EXPECT_EQ(nested[1].to_string(), "example.com/team/app:latest");
}

TEST(Reference, EmptySearchListMeansDockerHub) {
    const auto candidates = storage::resolve_reference("busybox", {});
    ASSERT_EQ(candidates.size(), 1u);
    EXPECT_EQ(candidates[0].to_string(), "docker.io/library/busybox:latest");
}

TEST(Reference, DuplicateSearchRegistriesYieldOneCandidate) {
    const auto candidates = storage::resolve_reference("busybox", {"docker.io", "index.docker.io"});
    ASSERT_EQ(candidates.size(), 1u);
}

TEST(Reference, QualifiedNamesIgnoreTheSearchList) {
    const auto candidates = storage::resolve_reference("quay.io/app", {"example.com", "docker.io"});
    ASSERT_EQ(candidates.size(), 1u);
    EXPECT_EQ(candidates[0].to_string(), "quay.io/app:latest");
}

TEST(Reference, BadSearchRegistryIsReported) {
    EXPECT_THROW(storage::resolve_reference("busybox", {"bad host"}), storage::ReferenceError);
    // A qualified name never consults the list, so a bad entry does not matter.
    EXPECT_NO_THROW(storage::resolve_reference("quay.io/app", {"bad host"}));
}

TEST(Reference, NameLengthCountsTheRegistry) {
    // 255 in all is allowed, 256 is not.
    const std::string path_253 = std::string(253, 'a');
    EXPECT_NO_THROW(storage::parse_reference("a.b/" + std::string(251, 'a')));
    EXPECT_THROW(storage::parse_reference("a.b/" + std::string(252, 'a')), storage::ReferenceError);
    // docker.io/library/ is added before the length is checked, as distribution does.
    EXPECT_THROW(storage::parse_reference(path_253), storage::ReferenceError);
}

TEST(Reference, DigestAndImageIdPredicates) {
    EXPECT_TRUE(storage::is_digest(kDigest));
    EXPECT_FALSE(storage::is_digest(kSha512));
    EXPECT_FALSE(storage::is_digest("sha256:" + kHex64.substr(1)));
    EXPECT_FALSE(storage::is_digest("sha256:" + std::string(64, 'A')));
    EXPECT_FALSE(storage::is_digest(kHex64));

    EXPECT_TRUE(storage::is_supported_digest(kDigest));
    EXPECT_TRUE(storage::is_supported_digest(kSha512));
    EXPECT_FALSE(storage::is_supported_digest("md5:" + kHex64));

    EXPECT_TRUE(storage::is_image_id(kHex64));
    EXPECT_TRUE(storage::is_image_id(kDigest));
    EXPECT_FALSE(storage::is_image_id(kHex64.substr(1)));
    EXPECT_FALSE(storage::is_image_id(std::string(64, 'F')));
    EXPECT_FALSE(storage::is_image_id("busybox"));
}

}  // namespace
