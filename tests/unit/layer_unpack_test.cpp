// Layer unpacking through the real berth-unpack helper. Layers are written
// byte by byte here (ustar headers plus pax records) so that the tests control
// exactly what a hostile archive would hold, and so that the expected diff ID
// is the sha256 of bytes the test itself produced.
#include "berth/storage/layer_unpack.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

// Designated initializers below leave defaulted members out on purpose; g++ 12
// flags that under -Wextra although the defaults are well defined.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

namespace fs = std::filesystem;
using berth::storage::LayerUnpackError;
using berth::storage::unpack_layer;
using berth::storage::UnpackOptions;
using berth::storage::UnpackResult;

constexpr std::size_t kBlock = 512;

struct TarEntry {
    std::string name;
    char type = '0';
    std::string content;
    std::string link;
    unsigned mode = 0644;
    unsigned uid = 0;
    unsigned gid = 0;
    long long mtime = 1700000000;
    unsigned major = 0;
    unsigned minor = 0;
    std::map<std::string, std::string> xattrs;
    bool pax_path = false;  // name in a pax "path" record (UTF-8), not only in ustar
};

class TarBuilder {
public:
    TarBuilder& add(const TarEntry& entry) {
        std::string records;
        if (entry.pax_path || entry.name.size() >= 100) {
            records += pax_record("path", entry.name);
        }
        if (entry.link.size() >= 100) {
            records += pax_record("linkpath", entry.link);
        }
        for (const auto& [key, value] : entry.xattrs) {
            records += pax_record("SCHILY.xattr." + key, value);
        }
        if (!records.empty()) {
            TarEntry pax;
            pax.name = "PaxHeaders/" + entry.name.substr(0, 80);
            pax.type = 'x';
            pax.content = records;
            write_entry(pax);
        }
        write_entry(entry);
        return *this;
    }
    TarBuilder& file(const std::string& name, const std::string& content, unsigned mode = 0644) {
        return add({.name = name, .content = content, .mode = mode});
    }
    TarBuilder& dir(const std::string& name, unsigned mode = 0755) {
        return add({.name = name, .type = '5', .mode = mode});
    }
    TarBuilder& symlink(const std::string& name, const std::string& target) {
        return add({.name = name, .type = '2', .link = target, .mode = 0777});
    }
    TarBuilder& hardlink(const std::string& name, const std::string& target) {
        return add({.name = name, .type = '1', .link = target});
    }
    TarBuilder& chardev(const std::string& name, unsigned major, unsigned minor) {
        return add({.name = name, .type = '3', .mode = 0666, .major = major, .minor = minor});
    }

    // The end-of-archive blocks, then padding to a 10 KiB record as tar does:
    // the padding is part of the stream the diff ID covers.
    std::string finish() const {
        std::string out = data_ + std::string(2 * kBlock, '\0');
        out.resize((out.size() + 10239) / 10240 * 10240, '\0');
        return out;
    }
    // The bytes so far, without an end: a truncated archive.
    const std::string& unfinished() const { return data_; }

private:
    static std::string pax_record(const std::string& key, const std::string& value) {
        const std::string body = " " + key + "=" + value + "\n";
        std::size_t length = body.size() + 1;
        while (std::to_string(length).size() + body.size() != length) {
            ++length;
        }
        return std::to_string(length) + body;
    }

    // width - 1 octal digits and a NUL, as ustar numeric fields are.
    static void octal(char* field, std::size_t width, unsigned long long value) {
        char digits[32];
        std::snprintf(digits, sizeof digits, "%0*llo", static_cast<int>(width - 1), value);
        std::memcpy(field, digits, width - 1);
        field[width - 1] = '\0';
    }

    void write_entry(const TarEntry& entry) {
        char header[kBlock] = {};
        std::snprintf(header, 100, "%s", entry.name.substr(0, 99).c_str());
        octal(header + 100, 8, entry.mode);
        octal(header + 108, 8, entry.uid);
        octal(header + 116, 8, entry.gid);
        octal(header + 124, 12, entry.content.size());
        octal(header + 136, 12, static_cast<unsigned long long>(entry.mtime));
        header[156] = entry.type;
        std::snprintf(header + 157, 100, "%s", entry.link.substr(0, 99).c_str());
        std::memcpy(header + 257,
                    "ustar\0"
                    "00",
                    8);
        octal(header + 329, 8, entry.major);
        octal(header + 337, 8, entry.minor);
        std::memset(header + 148, ' ', 8);
        unsigned sum = 0;
        for (const unsigned char byte : header) {
            sum += byte;
        }
        std::snprintf(header + 148, 8, "%06o", sum);
        header[155] = ' ';
        data_.append(header, kBlock);
        data_ += entry.content;
        data_.resize((data_.size() + kBlock - 1) / kBlock * kBlock, '\0');
    }

    std::string data_;
};

std::string sha256_digest(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
    std::string out = "sha256:";
    for (unsigned int i = 0; i < length; ++i) {
        char pair[3];
        std::snprintf(pair, sizeof pair, "%02x", digest[i]);
        out += pair;
    }
    return out;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

void write_file(const fs::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
}

std::string xattr(const fs::path& path, const char* name) {
    char value[256];
    const ssize_t size = lgetxattr(path.c_str(), name, value, sizeof value);
    return size < 0 ? std::string("<none>") : std::string(value, static_cast<std::size_t>(size));
}

int count_open_fds() {
    int count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) {
        ++count;
    }
    return count;
}

class LayerUnpackTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/berth-unpack-test.XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        root_ = pattern;
    }
    void TearDown() override { fs::remove_all(root_); }

    // Writes `tar` as a layer blob, compressed with `compressor` ("gzip",
    // "zstd") or as is.
    fs::path write_layer(const std::string& tar, const std::string& compressor = "") {
        const fs::path plain = root_ / ("layer" + std::to_string(++layers_) + ".tar");
        write_file(plain, tar);
        if (compressor.empty()) {
            return plain;
        }
        const fs::path compressed = plain.string() + "." + compressor;
        const std::string command =
            compressor + " -q -c '" + plain.string() + "' > '" + compressed.string() + "'";
        EXPECT_EQ(std::system(command.c_str()), 0) << command;
        return compressed;
    }

    fs::path rootfs() const { return root_ / "rootfs"; }

    UnpackResult unpack(const fs::path& archive, const UnpackOptions& options = {}) {
        return unpack_layer(BERTH_UNPACK_PATH, archive, rootfs(), options);
    }

    std::string unpack_error(const fs::path& archive, const UnpackOptions& options = {}) {
        try {
            unpack(archive, options);
        } catch (const LayerUnpackError& error) {
            return error.what();
        }
        ADD_FAILURE() << "unpacking " << archive << " succeeded";
        return {};
    }

    fs::path root_;
    int layers_ = 0;
};

TEST_F(LayerUnpackTest, KeepsFilesDirectoriesLinksOwnershipModesAndXattrs) {
    TarBuilder tar;
    tar.add({.name = "etc/", .type = '5', .mode = 0750, .uid = 1000, .gid = 1001, .mtime = 1111})
        .add({.name = "etc/tool",
              .content = "#!/bin/sh\n",
              .mode = 04755,
              .uid = 1000,
              .gid = 2000,
              .mtime = 1234567890,
              .xattrs = {{"user.berth", "hello"}, {"trusted.berth", "kept"}}})
        .symlink("etc/link", "tool")
        .symlink("etc/absolute", "/etc/tool")
        .hardlink("etc/hard", "etc/tool")
        .add({.name = "fifo", .type = '6', .mode = 0600})
        .file("deep/er/file", "implicit parents");
    const std::string bytes = tar.finish();

    const UnpackResult result = unpack(write_layer(bytes));
    EXPECT_EQ(result.diff_id, sha256_digest(bytes));
    EXPECT_EQ(result.uncompressed_size, bytes.size());
    EXPECT_EQ(result.entries, 7u);  // the pax header is no entry of its own
    EXPECT_EQ(result.skipped_devices, 0u);

    struct stat tool {};
    ASSERT_EQ(lstat((rootfs() / "etc/tool").c_str(), &tool), 0);
    EXPECT_EQ(tool.st_mode & 07777, 04755u);
    EXPECT_EQ(tool.st_uid, 1000u);
    EXPECT_EQ(tool.st_gid, 2000u);
    EXPECT_EQ(tool.st_mtime, 1234567890);
    EXPECT_EQ(tool.st_nlink, 2u);
    EXPECT_EQ(read_file(rootfs() / "etc/tool"), "#!/bin/sh\n");
    EXPECT_EQ(xattr(rootfs() / "etc/tool", "user.berth"), "hello");
    EXPECT_EQ(xattr(rootfs() / "etc/tool", "trusted.berth"), "kept");

    struct stat hard {};
    ASSERT_EQ(lstat((rootfs() / "etc/hard").c_str(), &hard), 0);
    EXPECT_EQ(hard.st_ino, tool.st_ino);

    struct stat etc {};
    ASSERT_EQ(lstat((rootfs() / "etc").c_str(), &etc), 0);
    EXPECT_EQ(etc.st_mode & 07777, 0750u);
    EXPECT_EQ(etc.st_uid, 1000u);
    EXPECT_EQ(etc.st_mtime, 1111) << "directory times are set after their content";

    EXPECT_EQ(fs::read_symlink(rootfs() / "etc/link"), "tool");
    EXPECT_EQ(fs::read_symlink(rootfs() / "etc/absolute"), "/etc/tool");
    EXPECT_TRUE(fs::is_fifo(fs::symlink_status(rootfs() / "fifo")));
    EXPECT_EQ(read_file(rootfs() / "deep/er/file"), "implicit parents");
    EXPECT_EQ(fs::status(rootfs() / "deep").permissions(), fs::perms(0755));
}

class CompressedLayerTest : public LayerUnpackTest,
                            public ::testing::WithParamInterface<const char*> {};

TEST_P(CompressedLayerTest, DiffIdIsTheDigestOfTheUncompressedTar) {
    TarBuilder tar;
    tar.dir("data/");
    std::string large;
    for (int i = 0; i < 200000; ++i) {
        large += std::to_string(i * 7919) + "\n";
    }
    tar.file("data/large", large).file("data/small", "x");
    const std::string bytes = tar.finish();
    const fs::path archive = write_layer(bytes, GetParam());

    const UnpackResult result = unpack(archive);
    EXPECT_EQ(result.diff_id, sha256_digest(bytes));
    if (*GetParam() != '\0') {
        EXPECT_NE(result.diff_id, sha256_digest(read_file(archive)));
    }
    EXPECT_EQ(result.uncompressed_size, bytes.size());
    EXPECT_EQ(result.entries, 3u);
    EXPECT_EQ(read_file(rootfs() / "data/large"), large);
}

INSTANTIATE_TEST_SUITE_P(Compressions, CompressedLayerTest, ::testing::Values("", "gzip", "zstd"),
                         [](const auto& test_info) {
                             const char* compressor = test_info.param;
                             return std::string(*compressor ? compressor : "plain");
                         });

TEST_F(LayerUnpackTest, WhiteoutsBecomeOverlayWhiteouts) {
    TarBuilder tar;
    tar.dir("a/")
        .file("a/replaced", "this layer wrote it first")
        .file("a/.wh.replaced", "")
        .file("a/.wh.gone", "")
        .dir("a/tree/")
        .file("a/tree/leaf", "x")
        .file("a/.wh.tree", "")
        .file("b/.wh..wh..opq", "")  // before (and without) any entry for b/
        .dir("c/")
        .file("c/.wh..wh..opq", "")
        .file("c/kept", "new")
        .dir(".wh..wh.plnk/")
        .file(".wh..wh.plnk/123.456", "aufs")
        .file("d/.wh..wh.aufs", "");
    const UnpackResult result = unpack(write_layer(tar.finish()));
    EXPECT_EQ(result.entries, 14u);

    for (const char* name : {"a/replaced", "a/gone", "a/tree"}) {
        struct stat whiteout {};
        ASSERT_EQ(lstat((rootfs() / name).c_str(), &whiteout), 0) << name;
        EXPECT_TRUE(S_ISCHR(whiteout.st_mode)) << name;
        EXPECT_EQ(whiteout.st_rdev, makedev(0, 0)) << name;
    }
    EXPECT_FALSE(fs::exists(rootfs() / "a/.wh.gone"));
    EXPECT_TRUE(fs::is_directory(rootfs() / "b"));
    EXPECT_EQ(xattr(rootfs() / "b", "trusted.overlay.opaque"), "y");
    EXPECT_EQ(xattr(rootfs() / "c", "trusted.overlay.opaque"), "y");
    EXPECT_EQ(xattr(rootfs() / "a", "trusted.overlay.opaque"), "<none>");
    EXPECT_EQ(read_file(rootfs() / "c/kept"), "new");
    EXPECT_FALSE(fs::exists(rootfs() / "c/.wh..wh..opq"));
    EXPECT_FALSE(fs::exists(rootfs() / ".wh..wh.plnk"));
    EXPECT_FALSE(fs::exists(rootfs() / "d/.wh..wh.aufs"));
}

TEST_F(LayerUnpackTest, RejectsDotDotEscapesNamingTheEntry) {
    // rootfs sits two levels below root_ so that "../../x" would hit root_/x.
    const fs::path nested = root_ / "one" / "two";
    fs::create_directories(nested);
    for (const char* name : {"../../x", "a/../../x", "./../x"}) {
        SCOPED_TRACE(name);
        TarBuilder tar;
        tar.file("fine", "ok").file(name, "escaped");
        const fs::path archive = write_layer(tar.finish());
        const fs::path destination = nested / ("rootfs" + std::to_string(layers_));
        try {
            unpack_layer(BERTH_UNPACK_PATH, archive, destination);
            ADD_FAILURE() << "no error";
        } catch (const LayerUnpackError& error) {
            EXPECT_NE(std::string(error.what())
                          .find("entry \"" + std::string(name) + "\": path escapes the layer root"),
                      std::string::npos)
                << error.what();
        }
    }
    EXPECT_FALSE(fs::exists(root_ / "x"));
    EXPECT_FALSE(fs::exists(root_ / "one" / "x"));
    EXPECT_FALSE(fs::exists(nested / "x"));
}

TEST_F(LayerUnpackTest, DotDotThatStaysInsideIsResolved) {
    TarBuilder tar;
    tar.file("a/../b", "inside");
    unpack(write_layer(tar.finish()));
    EXPECT_EQ(read_file(rootfs() / "b"), "inside");
}

TEST_F(LayerUnpackTest, AbsolutePathsStayInsideTheRoot) {
    const std::string name = "/berth-unpack-absolute-" + std::to_string(getpid());
    TarBuilder tar;
    tar.file(name + "/file", "contained").hardlink("/link", name + "/file");
    unpack(write_layer(tar.finish()));
    EXPECT_EQ(read_file(rootfs() / name.substr(1) / "file"), "contained");
    EXPECT_EQ(read_file(rootfs() / "link"), "contained");
    EXPECT_FALSE(fs::exists(name));
}

TEST_F(LayerUnpackTest, NeverExtractsThroughASymlink) {
    const std::string outside = "berth-unpack-escape-" + std::to_string(getpid());
    struct Case {
        std::string target;
        std::string check;
    };
    for (const Case& escape :
         {Case{"/tmp", "/tmp/" + outside}, Case{"../../..", "/" + outside}, Case{"inner", ""}}) {
        SCOPED_TRACE(escape.target);
        TarBuilder tar;
        tar.dir("inner/").symlink("l", escape.target).file("l/" + outside, "escaped");
        const std::string message = unpack_error(write_layer(tar.finish()));
        EXPECT_NE(message.find("entry \"l/" + outside + "\""), std::string::npos) << message;
        if (!escape.check.empty()) {
            EXPECT_FALSE(fs::exists(escape.check));
        }
        EXPECT_FALSE(fs::exists(rootfs() / "inner" / outside));
        fs::remove_all(rootfs());
    }
}

TEST_F(LayerUnpackTest, WhiteoutsDoNotGoThroughSymlinks) {
    fs::create_directories(root_ / "outside/victim");
    TarBuilder tar;
    tar.symlink("l", (root_ / "outside").string()).file("l/.wh.victim", "");
    const std::string message = unpack_error(write_layer(tar.finish()));
    EXPECT_NE(message.find("entry \"l/.wh.victim\""), std::string::npos) << message;
    EXPECT_TRUE(fs::is_directory(root_ / "outside/victim"));
}

TEST_F(LayerUnpackTest, RejectsHardLinksOutOfTheRoot) {
    TarBuilder tar;
    tar.hardlink("passwd", "../../etc/passwd");
    const std::string message = unpack_error(write_layer(tar.finish()));
    EXPECT_NE(message.find("entry \"passwd\": hard link target \"../../etc/passwd\" escapes"),
              std::string::npos)
        << message;
    EXPECT_FALSE(fs::exists(rootfs() / "passwd"));
}

TEST_F(LayerUnpackTest, DeviceNodesUnlessDisallowed) {
    TarBuilder tar;
    tar.chardev("dev/null", 1, 3).file("dev/.wh.old", "");
    const fs::path archive = write_layer(tar.finish());

    const UnpackResult skipped = unpack(archive, {.allow_devices = false});
    EXPECT_EQ(skipped.skipped_devices, 1u);
    EXPECT_EQ(skipped.entries, 2u);
    EXPECT_FALSE(fs::exists(fs::symlink_status(rootfs() / "dev/null")));
    EXPECT_TRUE(fs::is_character_file(fs::symlink_status(rootfs() / "dev/old")))
        << "whiteouts are made either way";

    fs::remove_all(rootfs());
    const UnpackResult kept = unpack(archive);
    EXPECT_EQ(kept.skipped_devices, 0u);
    struct stat device {};
    ASSERT_EQ(lstat((rootfs() / "dev/null").c_str(), &device), 0);
    EXPECT_TRUE(S_ISCHR(device.st_mode));
    EXPECT_EQ(device.st_rdev, makedev(1, 3));
}

TEST_F(LayerUnpackTest, NonAsciiNames) {
    const std::string utf8 = "caf\xc3\xa9/na\xc3\xafve";
    const std::string latin1 = "caf\xe9";
    TarBuilder tar;
    tar.add({.name = utf8, .content = "pax", .pax_path = true}).file(latin1, "raw bytes");
    unpack(write_layer(tar.finish(), "gzip"));
    EXPECT_EQ(read_file(rootfs() / utf8), "pax");
    EXPECT_EQ(read_file(rootfs() / latin1), "raw bytes");
}

TEST_F(LayerUnpackTest, LongNamesAndLaterEntriesReplaceEarlierOnes) {
    const std::string long_name = std::string(150, 'd') + "/" + std::string(120, 'f');
    TarBuilder tar;
    tar.file(long_name, "long").file("same", "first").file("same", "second");
    unpack(write_layer(tar.finish()));
    EXPECT_EQ(read_file(rootfs() / long_name), "long");
    EXPECT_EQ(read_file(rootfs() / "same"), "second");
}

TEST_F(LayerUnpackTest, CorruptGzipFailsClearly) {
    TarBuilder tar;
    std::string noise;
    for (int i = 0; i < 100000; ++i) {
        noise += std::to_string(static_cast<unsigned long long>(i) * 31337 % 1000003);
    }
    tar.file("noise", noise);
    const fs::path archive = write_layer(tar.finish(), "gzip");
    std::string bytes = read_file(archive);
    for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) {
        bytes[i] = static_cast<char>(~bytes[i]);
    }
    write_file(archive, bytes);
    const std::string message = unpack_error(archive);
    EXPECT_NE(message.find(archive.string()), std::string::npos) << message;
    EXPECT_TRUE(message.find("gzip") != std::string::npos ||
                message.find("decompress") != std::string::npos ||
                message.find("Damaged") != std::string::npos)
        << message;
}

TEST_F(LayerUnpackTest, TruncatedArchivesFailClearly) {
    TarBuilder tar;
    tar.file("first", "ok").file("big", std::string(100000, 'b'));
    const std::string whole = tar.finish();
    const std::string cut = tar.unfinished().substr(0, tar.unfinished().size() - 50000);

    const std::string plain = unpack_error(write_layer(cut));
    EXPECT_NE(plain.find("entry \"big\""), std::string::npos) << plain;
    EXPECT_NE(plain.find("Truncated"), std::string::npos) << plain;

    fs::remove_all(rootfs());
    const fs::path gzip = write_layer(whole, "gzip");
    const std::string compressed = read_file(gzip);
    write_file(gzip, compressed.substr(0, compressed.size() / 2));
    const std::string half = unpack_error(gzip);
    EXPECT_FALSE(half.empty());

    fs::remove_all(rootfs());
    write_file(gzip, compressed.substr(0, compressed.size() - 4));  // no gzip trailer size
    EXPECT_FALSE(unpack_error(gzip).empty());
}

TEST_F(LayerUnpackTest, NotATarFailsClearly) {
    const std::string message = unpack_error(write_layer("just some text, not a layer\n", "gzip"));
    EXPECT_NE(message.find("reading the layer"), std::string::npos) << message;
}

TEST_F(LayerUnpackTest, EmptyLayers) {
    const std::string only_end = TarBuilder().finish();
    const UnpackResult result = unpack(write_layer(only_end, "gzip"));
    EXPECT_EQ(result.diff_id, sha256_digest(only_end));
    EXPECT_EQ(result.entries, 0u);
    EXPECT_TRUE(fs::is_empty(rootfs()));
}

TEST_F(LayerUnpackTest, MissingHelperOrArchiveFailClearly) {
    const fs::path archive = write_layer(TarBuilder().file("a", "b").finish());
    try {
        unpack_layer("/nonexistent/berth-unpack", archive, rootfs());
        ADD_FAILURE() << "no error";
    } catch (const LayerUnpackError& error) {
        EXPECT_NE(std::string(error.what()).find("/nonexistent/berth-unpack"), std::string::npos)
            << error.what();
    }
    const std::string message = unpack_error(root_ / "missing.tar");
    EXPECT_NE(message.find("missing.tar"), std::string::npos) << message;
    EXPECT_NE(message.find("No such file"), std::string::npos) << message;
}

TEST_F(LayerUnpackTest, DestinationIsCreatedAndMustBeEmpty) {
    const fs::path archive = write_layer(TarBuilder().file("a", "b").finish());
    const fs::path deep = root_ / "x/y/z";
    unpack_layer(BERTH_UNPACK_PATH, archive, deep);
    EXPECT_EQ(read_file(deep / "a"), "b");
    try {
        unpack_layer(BERTH_UNPACK_PATH, archive, deep);
        ADD_FAILURE() << "no error";
    } catch (const LayerUnpackError& error) {
        EXPECT_NE(std::string(error.what()).find("not empty"), std::string::npos) << error.what();
    }
}

TEST_F(LayerUnpackTest, TimeoutKillsAndReapsTheHelper) {
    const fs::path slow = root_ / "slow-helper";
    write_file(slow, "#!/bin/sh\nsleep 30\n");
    fs::permissions(slow, fs::perms(0755));
    const auto start = std::chrono::steady_clock::now();
    try {
        unpack_layer(slow, root_ / "any.tar", rootfs(), {.timeout = std::chrono::seconds(1)});
        ADD_FAILURE() << "no error";
    } catch (const LayerUnpackError& error) {
        EXPECT_NE(std::string(error.what()).find("timed out"), std::string::npos) << error.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(LayerUnpackTest, ManyThreadsAtOnceLeakNoFds) {
    TarBuilder tar;
    for (int i = 0; i < 50; ++i) {
        tar.file("dir" + std::to_string(i % 5) + "/file" + std::to_string(i),
                 std::string(5000, 'q'));
    }
    const std::string bytes = tar.finish();
    const fs::path archive = write_layer(bytes, "gzip");
    const int fds_before = count_open_fds();

    constexpr int kThreads = 8;
    std::vector<std::string> diff_ids(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            for (int round = 0; round < 3; ++round) {
                const fs::path destination =
                    root_ / ("parallel" + std::to_string(i) + "-" + std::to_string(round));
                try {
                    diff_ids[i] = unpack_layer(BERTH_UNPACK_PATH, archive, destination).diff_id;
                } catch (const std::exception& error) {
                    diff_ids[i] = error.what();
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    for (const auto& diff_id : diff_ids) {
        EXPECT_EQ(diff_id, sha256_digest(bytes));
    }
    EXPECT_EQ(count_open_fds(), fds_before);
}

TEST_F(LayerUnpackTest, FindsTheHelperOnThePath) {
    const char* saved = std::getenv("PATH");
    const std::string saved_path = saved != nullptr ? saved : "";
    const fs::path bin = root_ / "bin";
    fs::create_directories(bin);
    fs::create_symlink(BERTH_UNPACK_PATH, bin / "berth-unpack");

    setenv("PATH", ("/nonexistent:" + bin.string()).c_str(), 1);
    std::string found;
    std::string missing;
    try {
        found = berth::storage::find_unpack_helper();
    } catch (const std::exception& error) {
        found = error.what();
    }
    setenv("PATH", "/nonexistent", 1);
    try {
        missing = berth::storage::find_unpack_helper();
    } catch (const std::exception& error) {
        missing = error.what();
    }
    setenv("PATH", saved_path.c_str(), 1);

    EXPECT_EQ(found, (bin / "berth-unpack").string());
    EXPECT_NE(missing.find("berth-unpack not found"), std::string::npos) << missing;
    EXPECT_NE(missing.find("$PATH"), std::string::npos) << missing;
    EXPECT_NE(missing.find("libexec/berth/berth-unpack"), std::string::npos) << missing;
}

}  // namespace
