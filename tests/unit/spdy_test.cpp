// SPDY/3.1: frame encoding and decoding, header blocks and their compression,
// and sessions over real sockets (with each other, and with a hand-driven
// peer that behaves like Go's spdystream: no flow control at all).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "berth/stream/spdy_frame.hpp"
#include "berth/stream/spdy_header_block.hpp"
#include "berth/stream/spdy_session.hpp"

namespace berth::stream {
namespace {

using namespace std::chrono_literals;

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int value : values)
        out.push_back(static_cast<char>(value));
    return out;
}

std::string be32(std::uint32_t value) {
    return bytes({static_cast<int>(value >> 24 & 0xff), static_cast<int>(value >> 16 & 0xff),
                  static_cast<int>(value >> 8 & 0xff), static_cast<int>(value & 0xff)});
}

SpdyFrame decode_one(const std::string& wire) {
    SpdyFrameDecoder decoder;
    decoder.feed(wire);
    auto frame = decoder.next();
    EXPECT_TRUE(frame.has_value());
    EXPECT_FALSE(decoder.next().has_value());
    EXPECT_EQ(decoder.buffered(), 0u);
    return frame.value_or(SpdyFrame{});
}

// Compresses with zlib directly (not our compressor), as a peer would.
std::string zlib_compress_with_dictionary(const std::string& input) {
    z_stream stream{};
    EXPECT_EQ(deflateInit(&stream, Z_DEFAULT_COMPRESSION), Z_OK);
    auto dictionary = spdy_header_dictionary();
    EXPECT_EQ(deflateSetDictionary(&stream, reinterpret_cast<const Bytef*>(dictionary.data()),
                                   static_cast<uInt>(dictionary.size())),
              Z_OK);
    std::string out(deflateBound(&stream, input.size()) + 64, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    stream.avail_in = static_cast<uInt>(input.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&stream, Z_SYNC_FLUSH), Z_OK);
    out.resize(out.size() - stream.avail_out);
    deflateEnd(&stream);
    return out;
}

std::uint32_t crc(std::string_view data) {
    return static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

std::string random_bytes(std::size_t size, unsigned seed) {
    std::mt19937 generator(seed);
    std::string out(size, '\0');
    for (char& c : out)
        c = static_cast<char>(generator());
    return out;
}

// ---------------------------------------------------------------- frames

TEST(SpdyFrameTest, EveryFrameTypeRoundTrips) {
    std::vector<SpdyFrame> frames = {
        {.type = SpdyFrameType::SynStream,
         .flags = kSpdyFlagFin | kSpdyFlagUnidirectional,
         .stream_id = 0x7fffffff,
         .associated_stream_id = 3,
         .priority = 7,
         .header_block = "compressed"},
        {.type = SpdyFrameType::SynReply,
         .flags = kSpdyFlagFin,
         .stream_id = 2,
         .header_block = "x"},
        {.type = SpdyFrameType::Headers, .stream_id = 5, .header_block = std::string(300, 'h')},
        {.type = SpdyFrameType::RstStream, .stream_id = 9, .status = kSpdyFlowControlError},
        {.type = SpdyFrameType::Settings,
         .flags = kSpdyFlagClearSettings,
         .settings = {{1, kSpdySettingInitialWindowSize, 1 << 20},
                      {0, kSpdySettingMaxConcurrentStreams, 100}}},
        {.type = SpdyFrameType::Settings},
        {.type = SpdyFrameType::Ping, .ping_id = 0xfffffffe},
        {.type = SpdyFrameType::GoAway, .stream_id = 41, .status = kSpdyGoAwayInternalError},
        {.type = SpdyFrameType::WindowUpdate, .stream_id = 0, .delta = 0x7fffffff},
        {.type = SpdyFrameType::WindowUpdate, .stream_id = 7, .delta = 1},
        {.type = SpdyFrameType::Data, .flags = kSpdyFlagFin, .stream_id = 1, .data = "payload"},
        {.type = SpdyFrameType::Data, .stream_id = 3, .data = std::string(70000, '\xab')},
        {.type = SpdyFrameType::Data, .flags = kSpdyFlagFin, .stream_id = 3},
    };
    std::string wire;
    for (const auto& frame : frames) {
        EXPECT_EQ(decode_one(encode_spdy_frame(frame)), frame) << spdy_frame_type_name(frame.type);
        wire += encode_spdy_frame(frame);
    }
    // All of them back to back, fed one byte at a time.
    SpdyFrameDecoder decoder;
    std::vector<SpdyFrame> decoded;
    for (char c : wire) {
        decoder.feed(std::string_view(&c, 1));
        while (auto frame = decoder.next())
            decoded.push_back(*frame);
    }
    EXPECT_EQ(decoded, frames);
}

TEST(SpdyFrameTest, ControlFramesMatchTheSpecLayout) {
    struct Case {
        std::string wire;
        SpdyFrame frame;
    };
    std::vector<Case> cases = {
        // Control bit + version 3, type, flags, 24-bit length, payload.
        {bytes({0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07}),
         {.type = SpdyFrameType::Ping, .ping_id = 7}},
        {bytes({0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00,
                0x00, 0x05}),
         {.type = SpdyFrameType::RstStream, .stream_id = 5, .status = kSpdyCancel}},
        {bytes({0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01,
                0x00, 0x00}),
         {.type = SpdyFrameType::WindowUpdate, .stream_id = 3, .delta = 65536}},
        {bytes({0x80, 0x03, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00,
                0x00, 0x01}),
         {.type = SpdyFrameType::GoAway, .stream_id = 9, .status = kSpdyGoAwayProtocolError}},
        // SETTINGS: flags CLEAR, one entry: flags 1, id 7 (initial window) = 256 KiB.
        {bytes({0x80, 0x03, 0x00, 0x04, 0x01, 0x00, 0x00, 0x0c, 0x00, 0x00,
                0x00, 0x01, 0x01, 0x00, 0x00, 0x07, 0x00, 0x04, 0x00, 0x00}),
         {.type = SpdyFrameType::Settings,
          .flags = kSpdyFlagClearSettings,
          .settings = {{1, 7, 262144}}}},
        // SYN_REPLY and HEADERS: stream id, then the block (opaque here).
        {bytes({0x80, 0x03, 0x00, 0x02, 0x01, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x02, 'h', 'b'}),
         {.type = SpdyFrameType::SynReply, .flags = 1, .stream_id = 2, .header_block = "hb"}},
        {bytes({0x80, 0x03, 0x00, 0x08, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x04, 'z'}),
         {.type = SpdyFrameType::Headers, .stream_id = 4, .header_block = "z"}},
        // DATA: control bit clear, stream id, flags (FIN), length.
        {bytes({0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x03, 'a', 'b', 'c'}),
         {.type = SpdyFrameType::Data, .flags = kSpdyFlagFin, .stream_id = 1, .data = "abc"}},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(decode_one(c.wire), c.frame) << spdy_frame_type_name(c.frame.type);
        EXPECT_EQ(encode_spdy_frame(c.frame), c.wire) << spdy_frame_type_name(c.frame.type);
    }
}

TEST(SpdyFrameTest, ReservedBitsOfIdsAreIgnored) {
    // The top bit before a 31-bit id is reserved: a peer may set it.
    auto frame = decode_one(bytes({0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0x80, 0x00, 0x00,
                                   0x05, 0x00, 0x00, 0x00, 0x05}));
    EXPECT_EQ(frame.stream_id, 5u);
}

TEST(SpdyFrameTest, SynStreamWithZlibCompressedHeaders) {
    // The uncompressed block written out field by field, as in the spec.
    std::string block = be32(3) + be32(10) + "streamtype" + be32(5) + "error" + be32(4) + "port" +
                        be32(4) + "8080" + be32(6) + "accept" + be32(5) + "a" +
                        std::string(1, '\0') + "b" + std::string(1, '\0') + "c";
    std::string compressed = zlib_compress_with_dictionary(block);
    std::string payload = be32(1) + be32(0) + bytes({0x60, 0x00}) + compressed;
    std::string wire = bytes({0x80, 0x03, 0x00, 0x01, 0x01}) +
                       be32(static_cast<std::uint32_t>(payload.size())).substr(1) + payload;

    SpdyFrame frame = decode_one(wire);
    EXPECT_EQ(frame.type, SpdyFrameType::SynStream);
    EXPECT_EQ(frame.flags, kSpdyFlagFin);
    EXPECT_EQ(frame.stream_id, 1u);
    EXPECT_EQ(frame.associated_stream_id, 0u);
    EXPECT_EQ(frame.priority, 3);
    EXPECT_EQ(frame.header_block, compressed);

    SpdyHeaderDecompressor decompressor;
    EXPECT_EQ(decompressor.decompress_headers(frame.header_block),
              (SpdyHeaders{{"streamtype", "error"},
                           {"port", "8080"},
                           {"accept", "a"},
                           {"accept", "b"},
                           {"accept", "c"}}));
}

TEST(SpdyFrameTest, MalformedInputIsAnErrorNotACrash) {
    auto rejects = [](const std::string& wire, std::size_t max = kSpdyMaxFrameLength) {
        SpdyFrameDecoder decoder(max);
        decoder.feed(wire);
        EXPECT_THROW(decoder.next(), SpdyProtocolError) << testing::PrintToString(wire);
        // Once failed, always failed: frame boundaries are lost.
        EXPECT_THROW(decoder.next(), SpdyProtocolError);
    };
    // SPDY/2 and version 4 frames.
    rejects(bytes({0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01}));
    rejects(bytes({0x80, 0x04, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01}));
    // Over the configured maximum: rejected from the header alone.
    rejects(bytes({0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x08, 0x00}), 1024);
    // Fixed-size frames with the wrong length, truncated fixed fields.
    rejects(bytes({0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x08}));
    rejects(bytes({0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01}));
    rejects(bytes({0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01}));
    rejects(bytes({0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0, 0, 0, 1, 0, 0}));
    rejects(bytes({0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0, 1}));
    // SETTINGS whose count does not match its length, also a huge count.
    rejects(bytes({0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00,
                   0x00, 0x02, 0,    0,    0,    7,    0,    0,    0,    1}));
    rejects(bytes({0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0c, 0xff, 0xff,
                   0xff, 0xff, 0,    0,    0,    7,    0,    0,    0,    1}));
    // Stream id 0 where a stream is required, zero deltas and statuses.
    rejects(bytes({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 'x'}));
    rejects(bytes({0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    rejects(bytes({0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 0}));
    rejects(bytes({0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0x80, 0, 0, 0}));
}

TEST(SpdyFrameTest, TruncatedFramesWaitForMoreBytes) {
    std::string wire =
        encode_spdy_frame({.type = SpdyFrameType::Data, .stream_id = 1, .data = "abcdef"});
    SpdyFrameDecoder decoder;
    decoder.feed(wire.substr(0, 5));
    EXPECT_FALSE(decoder.next().has_value());
    decoder.feed(wire.substr(5, 6));
    EXPECT_FALSE(decoder.next().has_value());
    decoder.feed(wire.substr(11));
    auto frame = decoder.next();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->data, "abcdef");
}

TEST(SpdyFrameTest, UnknownControlFramesAreSkipped) {
    // Type 10 (CREDENTIAL, SPDY/3 only) followed by a PING.
    std::string wire = bytes({0x80, 0x03, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x03, 1, 2, 3}) +
                       encode_spdy_frame({.type = SpdyFrameType::Ping, .ping_id = 3});
    EXPECT_EQ(decode_one(wire).ping_id, 3u);
}

TEST(SpdyFrameTest, EncodingRejectsWhatTheWireCannotCarry) {
    EXPECT_THROW(encode_spdy_frame({.type = SpdyFrameType::Data,
                                    .stream_id = 1,
                                    .data = std::string(kSpdyMaxFrameLength + 1, 'x')}),
                 std::invalid_argument);
    EXPECT_THROW(encode_spdy_frame({.type = SpdyFrameType::RstStream, .stream_id = 0x80000000u}),
                 std::invalid_argument);
    EXPECT_THROW(
        encode_spdy_frame({.type = SpdyFrameType::SynStream, .stream_id = 1, .priority = 8}),
        std::invalid_argument);
}

// ---------------------------------------------------------------- header blocks

TEST(SpdyHeaderBlockTest, DictionaryIsSpdy3s) {
    auto dictionary = spdy_header_dictionary();
    EXPECT_EQ(dictionary.size(), 1423u);
    // The dictionary id every SPDY/3 header stream carries in its zlib header.
    EXPECT_EQ(adler32(adler32(0, nullptr, 0), reinterpret_cast<const Bytef*>(dictionary.data()),
                      static_cast<uInt>(dictionary.size())),
              0xe3c6a7c2u);
    EXPECT_EQ(dictionary.substr(0, 11), bytes({0, 0, 0, 7}) + "options");
    EXPECT_EQ(dictionary.substr(dictionary.size() - 6), "enq=0.");
}

TEST(SpdyHeaderBlockTest, EncodesLowerCaseNamesAndMergesValues) {
    std::string block = encode_spdy_header_block(
        {{"StreamType", "stdin"}, {"x-multi", "a"}, {"x-multi", ""}, {"x-multi", "c"}});
    std::string expected = be32(2) + be32(10) + "streamtype" + be32(5) + "stdin" + be32(7) +
                           "x-multi" + be32(4) + "a" + std::string(1, '\0') + std::string(1, '\0') +
                           "c";
    EXPECT_EQ(block, expected);
    EXPECT_EQ(decode_spdy_header_block(block),
              (SpdyHeaders{
                  {"streamtype", "stdin"}, {"x-multi", "a"}, {"x-multi", ""}, {"x-multi", "c"}}));
    EXPECT_EQ(decode_spdy_header_block(be32(0)), SpdyHeaders{});
    EXPECT_THROW(encode_spdy_header_block({{"", "v"}}), SpdyHeaderBlockError);
    EXPECT_THROW(encode_spdy_header_block({{"a", std::string("x\0y", 3)}}), SpdyHeaderBlockError);
}

TEST(SpdyHeaderBlockTest, MalformedBlocksAreRejected) {
    // Count larger than the block can hold.
    EXPECT_THROW(decode_spdy_header_block(be32(1000) + be32(1) + "a" + be32(0)),
                 SpdyHeaderBlockError);
    EXPECT_THROW(decode_spdy_header_block(be32(0xffffffff)), SpdyHeaderBlockError);
    // Truncated name, value, length.
    EXPECT_THROW(decode_spdy_header_block(be32(1) + be32(10) + "abc" + be32(0)),
                 SpdyHeaderBlockError);
    EXPECT_THROW(decode_spdy_header_block(be32(1) + be32(1) + "a" + be32(9) + "b"),
                 SpdyHeaderBlockError);
    EXPECT_THROW(decode_spdy_header_block(be32(1) + be32(1) + "a" + bytes({0, 0})),
                 SpdyHeaderBlockError);
    EXPECT_THROW(decode_spdy_header_block("ab"), SpdyHeaderBlockError);
    // Empty name, trailing bytes.
    EXPECT_THROW(decode_spdy_header_block(be32(1) + be32(0) + be32(1) + "v"), SpdyHeaderBlockError);
    EXPECT_THROW(decode_spdy_header_block(be32(0) + "junk"), SpdyHeaderBlockError);
}

// Inflates a whole sequence of frames' blocks with plain zlib, as a peer would.
std::vector<std::string> zlib_inflate_blocks(const std::vector<std::string>& compressed) {
    z_stream stream{};
    EXPECT_EQ(inflateInit(&stream), Z_OK);
    auto dictionary = spdy_header_dictionary();
    std::vector<std::string> out;
    for (const auto& block : compressed) {
        std::string result;
        stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
        stream.avail_in = static_cast<uInt>(block.size());
        while (stream.avail_in > 0) {
            char buffer[1024];
            stream.next_out = reinterpret_cast<Bytef*>(buffer);
            stream.avail_out = sizeof buffer;
            int rc = inflate(&stream, Z_SYNC_FLUSH);
            if (rc == Z_NEED_DICT) {
                EXPECT_EQ(stream.adler, 0xe3c6a7c2u);
                EXPECT_EQ(
                    inflateSetDictionary(&stream, reinterpret_cast<const Bytef*>(dictionary.data()),
                                         static_cast<uInt>(dictionary.size())),
                    Z_OK);
                continue;
            }
            EXPECT_EQ(rc, Z_OK);
            if (rc != Z_OK)
                break;
            result.append(buffer, sizeof buffer - stream.avail_out);
        }
        out.push_back(result);
    }
    inflateEnd(&stream);
    return out;
}

TEST(SpdyHeaderBlockTest, CompressorOutputInflatesWithTheDictionary) {
    SpdyHeaderCompressor compressor;
    SpdyHeaders first = {{"streamtype", "stdout"}, {"requestid", "0"}};
    SpdyHeaders second = {{"streamtype", "stderr"}, {"requestid", "0"}, {"port", "80"}};
    std::vector<std::string> compressed = {compressor.compress(first), compressor.compress(second),
                                           compressor.compress(SpdyHeaders{})};
    // zlib header: deflate method, FDICT set, then the SPDY/3 dictionary id.
    ASSERT_GE(compressed[0].size(), 6u);
    EXPECT_EQ(compressed[0][0] & 0x0f, 8);
    EXPECT_NE(compressed[0][1] & 0x20, 0);
    EXPECT_EQ(compressed[0].substr(2, 4), be32(0xe3c6a7c2));
    // Each frame's block ends with a sync flush (empty stored block).
    for (const auto& block : compressed) {
        EXPECT_EQ(block.substr(block.size() - 4), bytes({0x00, 0x00, 0xff, 0xff}));
    }
    auto inflated = zlib_inflate_blocks(compressed);
    ASSERT_EQ(inflated.size(), 3u);
    EXPECT_EQ(inflated[0], encode_spdy_header_block(first));
    EXPECT_EQ(inflated[1], encode_spdy_header_block(second));
    EXPECT_EQ(inflated[2], encode_spdy_header_block({}));

    // And our decompressor reads the same sequence.
    SpdyHeaderDecompressor decompressor;
    EXPECT_EQ(decompressor.decompress_headers(compressed[0]), first);
    EXPECT_EQ(decompressor.decompress_headers(compressed[1]), second);
    EXPECT_EQ(decompressor.decompress_headers(compressed[2]), SpdyHeaders{});
}

TEST(SpdyHeaderBlockTest, DecompressionBombIsRejected) {
    // 8 MiB of zeros compress to a few KiB.
    std::string huge = be32(1) + be32(1) + "a" + be32(8 << 20) + std::string(8 << 20, '\0');
    std::string compressed = zlib_compress_with_dictionary(huge);
    EXPECT_LT(compressed.size(), 64u * 1024);
    SpdyHeaderDecompressor decompressor(256 * 1024);
    EXPECT_THROW(decompressor.decompress(compressed), SpdyProtocolError);
    EXPECT_THROW(decompressor.decompress(zlib_compress_with_dictionary(be32(0))),
                 SpdyProtocolError);
}

TEST(SpdyHeaderBlockTest, GarbageAndForeignDictionariesAreRejected) {
    SpdyHeaderDecompressor garbage;
    EXPECT_THROW(garbage.decompress("this is not zlib at all"), SpdyProtocolError);

    z_stream stream{};
    ASSERT_EQ(deflateInit(&stream, Z_DEFAULT_COMPRESSION), Z_OK);
    const char other[] = "some other dictionary";
    ASSERT_EQ(deflateSetDictionary(&stream, reinterpret_cast<const Bytef*>(other), sizeof other),
              Z_OK);
    std::string input = be32(0);
    std::string out(256, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(input.data());
    stream.avail_in = static_cast<uInt>(input.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    ASSERT_EQ(deflate(&stream, Z_SYNC_FLUSH), Z_OK);
    out.resize(out.size() - stream.avail_out);
    deflateEnd(&stream);
    SpdyHeaderDecompressor foreign;
    EXPECT_THROW(foreign.decompress(out), SpdyProtocolError);
}

// ---------------------------------------------------------------- sessions

// A peer driven by hand over the other end of the socket: it speaks frames
// but does no flow control, like spdystream.
class RawPeer {
public:
    explicit RawPeer(int fd) : fd_(fd) {}
    ~RawPeer() { close(); }

    void send(const SpdyFrame& frame) { send_bytes(encode_spdy_frame(frame)); }
    void send_bytes(const std::string& wire) {
        std::size_t at = 0;
        while (at < wire.size()) {
            ssize_t n = ::send(fd_, wire.data() + at, wire.size() - at, MSG_NOSIGNAL);
            ASSERT_GT(n, 0) << "send: " << std::strerror(errno);
            at += static_cast<std::size_t>(n);
        }
    }
    void open_stream(std::uint32_t id, const SpdyHeaders& headers) {
        SpdyFrame syn{.type = SpdyFrameType::SynStream, .stream_id = id};
        syn.header_block = compressor_.compress(headers);
        send(syn);
    }
    // The next frame, nullopt on EOF or after `timeout`.
    std::optional<SpdyFrame> next(std::chrono::milliseconds timeout = 5000ms) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (auto frame = decoder_.next()) {
                if (frame->type == SpdyFrameType::SynStream ||
                    frame->type == SpdyFrameType::SynReply ||
                    frame->type == SpdyFrameType::Headers) {
                    last_headers_ = decompressor_.decompress_headers(frame->header_block);
                }
                return frame;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return std::nullopt;
            pollfd pfd{fd_, POLLIN, 0};
            if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
                return std::nullopt;
            char buffer[65536];
            ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0)
                return std::nullopt;
            decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
        }
    }
    // Skips frames until one of `type` arrives.
    std::optional<SpdyFrame> next_of(SpdyFrameType type,
                                     std::chrono::milliseconds timeout = 5000ms) {
        for (;;) {
            auto frame = next(timeout);
            if (!frame || frame->type == type)
                return frame;
        }
    }
    const SpdyHeaders& last_headers() const { return last_headers_; }
    int fd() const { return fd_; }
    void close() {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
    SpdyFrameDecoder decoder_;
    SpdyHeaderCompressor compressor_;
    SpdyHeaderDecompressor decompressor_;
    SpdyHeaders last_headers_;
};

// Streams a session's handler received, for the test thread to take.
class StreamInbox {
public:
    SpdySession::StreamHandler handler(bool accept = true) {
        return [this, accept](std::shared_ptr<SpdyStream> stream) {
            if (!accept)
                return false;
            std::lock_guard lock(mu_);
            streams_.push_back(std::move(stream));
            cv_.notify_all();
            return true;
        };
    }
    std::shared_ptr<SpdyStream> take(std::chrono::milliseconds timeout = 5000ms) {
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, timeout, [&] { return !streams_.empty(); }))
            return nullptr;
        auto stream = streams_.front();
        streams_.pop_front();
        return stream;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<SpdyStream>> streams_;
};

std::string read_all(SpdyStream& stream) {
    std::string out;
    char buffer[16384];
    while (std::size_t n = stream.read(buffer, sizeof buffer))
        out.append(buffer, n);
    return out;
}

std::pair<int, int> socket_pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    return {fds[0], fds[1]};
}

// A connected TCP pair over loopback: closing with unread data sends an RST
// there, unlike a unix socket, which is what close() must avoid.
std::pair<int, int> tcp_pair() {
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    socklen_t length = sizeof address;
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(listener);
    return {client, server};
}

struct SessionPair {
    explicit SessionPair(SpdySessionOptions client_options = {},
                         SpdySessionOptions server_options = {}, bool tcp = false) {
        auto [client_fd, server_fd] = tcp ? tcp_pair() : socket_pair();
        client =
            std::make_unique<SpdySession>(client_fd, SpdySession::Role::Client, client_options);
        server =
            std::make_unique<SpdySession>(server_fd, SpdySession::Role::Server, server_options);
        server->set_stream_handler(server_inbox.handler());
        client->set_stream_handler(client_inbox.handler());
        server->start();
        client->start();
    }

    StreamInbox server_inbox;
    StreamInbox client_inbox;
    std::unique_ptr<SpdySession> client;
    std::unique_ptr<SpdySession> server;
};

TEST(SpdySessionTest, ClientOpensStreamsWithHeaders) {
    SessionPair pair;
    auto stdin_stream = pair.client->open_stream(
        {{"streamtype", "stdin"}, {"requestid", "0"}, {"x-multi", "a"}, {"x-multi", "b"}});
    ASSERT_NE(stdin_stream, nullptr);
    auto error_stream = pair.client->open_stream({{"streamtype", "error"}});
    ASSERT_NE(error_stream, nullptr);
    EXPECT_EQ(stdin_stream->id(), 1u);
    EXPECT_EQ(error_stream->id(), 3u);

    auto served_stdin = pair.server_inbox.take();
    auto served_error = pair.server_inbox.take();
    ASSERT_NE(served_stdin, nullptr);
    ASSERT_NE(served_error, nullptr);
    EXPECT_EQ(served_stdin->id(), 1u);
    EXPECT_EQ(served_stdin->header("streamtype"), "stdin");
    EXPECT_EQ(served_stdin->header("requestid"), "0");
    EXPECT_EQ(served_stdin->header("absent"), "");
    EXPECT_EQ(
        served_stdin->headers(),
        (SpdyHeaders{
            {"streamtype", "stdin"}, {"requestid", "0"}, {"x-multi", "a"}, {"x-multi", "b"}}));
    EXPECT_EQ(served_error->header("streamtype"), "error");

    // Servers open even-numbered streams.
    auto pushed = pair.server->open_stream({{"streamtype", "data"}});
    ASSERT_NE(pushed, nullptr);
    EXPECT_EQ(pushed->id(), 2u);
    auto received = pair.client_inbox.take();
    ASSERT_NE(received, nullptr);
    EXPECT_EQ(received->header("streamtype"), "data");
}

TEST(SpdySessionTest, MegabyteBothWaysWithFin) {
    SessionPair pair;
    auto client_stream = pair.client->open_stream({{"streamtype", "data"}});
    ASSERT_NE(client_stream, nullptr);
    auto server_stream = pair.server_inbox.take();
    ASSERT_NE(server_stream, nullptr);

    const std::string upload = random_bytes(1 << 20, 1);
    const std::string download = random_bytes(1 << 20, 2);
    auto uploader = std::async(std::launch::async, [&] {
        // Uneven pieces, to cross frame and window boundaries anywhere.
        for (std::size_t at = 0; at < upload.size(); at += 7777) {
            if (!client_stream->write(std::string_view(upload).substr(at, 7777)))
                return false;
        }
        client_stream->close_write();
        return true;
    });
    auto downloader = std::async(std::launch::async, [&] {
        bool ok = server_stream->write(download);
        server_stream->close_write();
        return ok;
    });
    std::string received_by_server = read_all(*server_stream);
    std::string received_by_client = read_all(*client_stream);
    EXPECT_TRUE(uploader.get());
    EXPECT_TRUE(downloader.get());
    EXPECT_EQ(received_by_server.size(), upload.size());
    EXPECT_EQ(crc(received_by_server), crc(upload));
    EXPECT_EQ(received_by_client.size(), download.size());
    EXPECT_EQ(crc(received_by_client), crc(download));
    // After FIN, reads keep returning 0 and writes fail.
    char c;
    EXPECT_EQ(server_stream->read(&c, 1), 0u);
    EXPECT_FALSE(client_stream->write("late"));
    client_stream->close_write();  // idempotent
}

TEST(SpdySessionTest, ResetEndsReadsAndWritesOnBothSides) {
    SessionPair pair;
    auto client_stream = pair.client->open_stream({{"streamtype", "stdout"}});
    ASSERT_NE(client_stream, nullptr);
    auto server_stream = pair.server_inbox.take();
    ASSERT_NE(server_stream, nullptr);

    auto blocked_read = std::async(std::launch::async, [&] {
        char buffer[16];
        return server_stream->read(buffer, sizeof buffer);
    });
    client_stream->reset();
    EXPECT_EQ(blocked_read.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(blocked_read.get(), 0u);
    EXPECT_FALSE(server_stream->write("after reset"));
    EXPECT_FALSE(client_stream->write("after reset"));
    char c;
    EXPECT_EQ(client_stream->read(&c, 1), 0u);
    // The session itself is unaffected.
    EXPECT_TRUE(pair.client->ping(5s));
    EXPECT_NE(pair.client->open_stream({{"streamtype", "stdout"}}), nullptr);
}

TEST(SpdySessionTest, RefusedStreamOpensAsNull) {
    auto [client_fd, server_fd] = socket_pair();
    SpdySession server(server_fd, SpdySession::Role::Server);
    server.set_stream_handler([](std::shared_ptr<SpdyStream> stream) {
        return stream->header("streamtype") != "forbidden";
    });
    server.start();
    SpdySession client(client_fd, SpdySession::Role::Client);
    client.start();
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(client.open_stream({{"streamtype", "forbidden"}}), nullptr);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_NE(client.open_stream({{"streamtype", "allowed"}}), nullptr);
}

TEST(SpdySessionTest, DroppingTheLastHandleResetsTheStream) {
    auto [client_fd, server_fd] = socket_pair();
    SpdySession server(server_fd, SpdySession::Role::Server);
    server.set_stream_handler([](std::shared_ptr<SpdyStream>) { return true; });  // not kept
    server.start();
    SpdySession client(client_fd, SpdySession::Role::Client);
    client.start();
    auto stream = client.open_stream({{"streamtype", "stdout"}});
    ASSERT_NE(stream, nullptr);
    char c;
    EXPECT_EQ(stream->read(&c, 1), 0u);
    EXPECT_FALSE(stream->write("x"));
}

TEST(SpdySessionTest, PingsAreAnswered) {
    SessionPair pair;
    EXPECT_TRUE(pair.client->ping(5s));
    EXPECT_TRUE(pair.server->ping(5s));

    // A peer's PING (odd id from a client) is echoed with the same id.
    auto [peer_fd, server_fd] = socket_pair();
    SpdySession server(server_fd, SpdySession::Role::Server);
    server.start();
    RawPeer peer(peer_fd);
    peer.send({.type = SpdyFrameType::Ping, .ping_id = 12345});
    auto reply = peer.next_of(SpdyFrameType::Ping);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->ping_id, 12345u);
}

TEST(SpdySessionTest, SessionAdvertisesItsWindows) {
    auto [peer_fd, server_fd] = socket_pair();
    SpdySession server(server_fd, SpdySession::Role::Server,
                       {.receive_window = 100000, .session_receive_window = 1 << 20});
    server.start();
    RawPeer peer(peer_fd);
    auto settings = peer.next();
    ASSERT_TRUE(settings.has_value());
    ASSERT_EQ(settings->type, SpdyFrameType::Settings);
    EXPECT_NE(std::find(settings->settings.begin(), settings->settings.end(),
                        SpdySetting{0, kSpdySettingInitialWindowSize, 100000}),
              settings->settings.end());
    auto session_window = peer.next();
    ASSERT_TRUE(session_window.has_value());
    EXPECT_EQ(session_window->type, SpdyFrameType::WindowUpdate);
    EXPECT_EQ(session_window->stream_id, 0u);
    EXPECT_EQ(session_window->delta, (1u << 20) - kSpdyDefaultWindow);
}

TEST(SpdySessionTest, FlowControlBlocksAWriterUntilTheReaderReads) {
    SpdySessionOptions server_options;
    server_options.receive_window = 64 * 1024;
    SessionPair pair({}, server_options);
    auto client_stream = pair.client->open_stream({{"streamtype", "stdin"}});
    ASSERT_NE(client_stream, nullptr);
    auto server_stream = pair.server_inbox.take();
    ASSERT_NE(server_stream, nullptr);

    const std::string data = random_bytes(1 << 20, 3);
    std::atomic<std::size_t> written{0};
    auto writer = std::async(std::launch::async, [&] {
        for (std::size_t at = 0; at < data.size(); at += 4096) {
            if (!client_stream->write(std::string_view(data).substr(at, 4096)))
                return false;
            written += 4096;
        }
        client_stream->close_write();
        return true;
    });
    // Nobody reads: the writer gets exactly one window's worth out, then waits.
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(written.load(), 64u * 1024);
    EXPECT_EQ(writer.wait_for(0s), std::future_status::timeout);

    // Reading reopens the window and the writer finishes.
    std::string received = read_all(*server_stream);
    EXPECT_TRUE(writer.get());
    EXPECT_EQ(received.size(), data.size());
    EXPECT_EQ(crc(received), crc(data));
}

TEST(SpdySessionTest, WriteTimesOutWhenThePeerNeverReads) {
    auto [peer_fd, server_fd] = socket_pair();
    StreamInbox inbox;
    SpdySession server(server_fd, SpdySession::Role::Server, {.write_timeout = 300ms});
    server.set_stream_handler(inbox.handler());
    server.start();
    RawPeer peer(peer_fd);
    peer.open_stream(1, {{"streamtype", "stdout"}});
    auto stream = inbox.take();
    ASSERT_NE(stream, nullptr);

    // The raw peer sends no WINDOW_UPDATE, so its window is not enforced and
    // only the full socket stops the writer.
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(stream->write(std::string(64 << 20, 'x')));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    EXPECT_NE(server.error().find("timed out"), std::string::npos) << server.error();
    EXPECT_FALSE(stream->write("more"));
    server.wait_closed();
    EXPECT_TRUE(server.closed());
}

TEST(SpdySessionTest, WindowWaitTimesOutWithoutEndingTheSession) {
    SpdySessionOptions client_options;
    client_options.write_timeout = 300ms;
    SpdySessionOptions server_options;
    server_options.receive_window = 16 * 1024;
    SessionPair pair(client_options, server_options);
    auto stream = pair.client->open_stream({{"streamtype", "stdin"}});
    ASSERT_NE(stream, nullptr);
    ASSERT_NE(pair.server_inbox.take(), nullptr);
    EXPECT_FALSE(stream->write(std::string(64 * 1024, 'x')));
    EXPECT_EQ(pair.client->error(), "");
    EXPECT_TRUE(pair.client->ping(5s));
}

TEST(SpdySessionTest, PeerWithoutFlowControlIsNotStalledAtDefaultWindow) {
    auto [peer_fd, server_fd] = socket_pair();
    StreamInbox inbox;
    SpdySession server(server_fd, SpdySession::Role::Server);
    server.set_stream_handler(inbox.handler());
    server.start();
    RawPeer peer(peer_fd);
    peer.open_stream(1, {{"streamtype", "stdout"}});
    auto stream = inbox.take();
    ASSERT_NE(stream, nullptr);

    const std::string data = random_bytes(1 << 20, 4);
    auto writer = std::async(std::launch::async, [&] {
        bool ok = stream->write(data);
        stream->close_write();
        return ok;
    });
    std::string received;
    bool fin = false;
    bool replied = false;
    while (!fin) {
        auto frame = peer.next();
        ASSERT_TRUE(frame.has_value()) << "after " << received.size() << " bytes";
        if (frame->type == SpdyFrameType::SynReply) {
            EXPECT_EQ(frame->stream_id, 1u);
            replied = true;
        }
        if (frame->type != SpdyFrameType::Data)
            continue;
        // spdystream drops DATA that precedes the SYN_REPLY.
        EXPECT_TRUE(replied);
        EXPECT_EQ(frame->stream_id, 1u);
        received += frame->data;
        fin = (frame->flags & kSpdyFlagFin) != 0;
    }
    EXPECT_TRUE(writer.get());
    EXPECT_EQ(crc(received), crc(data));
}

TEST(SpdySessionTest, PeerIgnoringOurWindowIsThrottledAndLosesNothing) {
    auto [peer_fd, server_fd] = socket_pair();
    StreamInbox inbox;
    SpdySession server(server_fd, SpdySession::Role::Server, {.receive_window = 32 * 1024});
    server.set_stream_handler(inbox.handler());
    server.start();
    RawPeer peer(peer_fd);
    peer.open_stream(1, {{"streamtype", "stdin"}});
    auto stream = inbox.take();
    ASSERT_NE(stream, nullptr);
    ASSERT_TRUE(peer.next_of(SpdyFrameType::SynReply).has_value());

    // 4 MiB blindly, in frames the size Go's io.Copy writes.
    const std::string data = random_bytes(4 << 20, 5);
    auto sender = std::async(std::launch::async, [&] {
        for (std::size_t at = 0; at < data.size(); at += 32 * 1024) {
            std::uint8_t flags = at + 32 * 1024 >= data.size() ? kSpdyFlagFin : 0;
            peer.send({.type = SpdyFrameType::Data,
                       .flags = flags,
                       .stream_id = 1,
                       .data = data.substr(at, 32 * 1024)});
        }
    });
    // A slow start: the peer's writes must block in the socket meanwhile.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(sender.wait_for(0s), std::future_status::timeout);
    std::string received = read_all(*stream);
    sender.get();
    EXPECT_EQ(received.size(), data.size());
    EXPECT_EQ(crc(received), crc(data));
    EXPECT_EQ(server.error(), "");
}

TEST(SpdySessionTest, PeerClosingMidStreamEndsReadsAndWrites) {
    auto [peer_fd, server_fd] = socket_pair();
    StreamInbox inbox;
    SpdySession server(server_fd, SpdySession::Role::Server);
    server.set_stream_handler(inbox.handler());
    server.start();
    RawPeer peer(peer_fd);
    peer.open_stream(1, {{"streamtype", "stdin"}});
    peer.send({.type = SpdyFrameType::Data, .stream_id = 1, .data = "partial"});
    auto stream = inbox.take();
    ASSERT_NE(stream, nullptr);
    peer.close();

    // What arrived is still readable, then the stream ends.
    EXPECT_EQ(read_all(*stream), "partial");
    server.wait_closed();
    EXPECT_FALSE(stream->write("to nobody"));
    EXPECT_TRUE(server.closed());
    EXPECT_NE(server.error().find("without GOAWAY"), std::string::npos) << server.error();
    EXPECT_EQ(server.open_stream({{"streamtype", "x"}}), nullptr);
}

TEST(SpdySessionTest, CloseDeliversQueuedData) {
    const std::string data = random_bytes(200 * 1024, 6);
    auto [client_fd, server_fd] = tcp_pair();
    StreamInbox inbox;
    auto server = std::make_unique<SpdySession>(server_fd, SpdySession::Role::Server);
    server->set_stream_handler(inbox.handler());
    server->start();
    SpdySession client(client_fd, SpdySession::Role::Client);
    client.start();
    auto client_stream = client.open_stream({{"streamtype", "stdout"}});
    ASSERT_NE(client_stream, nullptr);
    // Unread input on the server side too: closing over it must not RST.
    ASSERT_TRUE(client_stream->write(std::string(100 * 1024, 'i')));
    auto server_stream = inbox.take();
    ASSERT_NE(server_stream, nullptr);

    // Fits the window, so write() returns while it is all still in flight.
    ASSERT_TRUE(server_stream->write(data));
    server_stream->close_write();
    server->close();
    server_stream.reset();
    server.reset();

    EXPECT_EQ(crc(read_all(*client_stream)), crc(data));
    client.wait_closed();
    EXPECT_EQ(client.error(), "");
}

TEST(SpdySessionTest, GracefulCloseEndsThePeerCleanly) {
    SessionPair pair;
    auto stream = pair.client->open_stream({{"streamtype", "stdin"}});
    ASSERT_NE(stream, nullptr);
    pair.client->close();
    EXPECT_TRUE(pair.client->closed());
    pair.server->wait_closed();
    EXPECT_TRUE(pair.server->closed());
    EXPECT_EQ(pair.server->error(), "");
    EXPECT_EQ(pair.client->error(), "");
    EXPECT_EQ(pair.client->open_stream({{"streamtype", "x"}}), nullptr);
    EXPECT_FALSE(stream->write("x"));
}

TEST(SpdySessionTest, MalformedFrameEndsTheSessionWithGoAway) {
    auto [peer_fd, server_fd] = socket_pair();
    SpdySession server(server_fd, SpdySession::Role::Server);
    server.start();
    RawPeer peer(peer_fd);
    peer.send_bytes(
        bytes({0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01}));
    auto goaway = peer.next_of(SpdyFrameType::GoAway);
    ASSERT_TRUE(goaway.has_value());
    EXPECT_EQ(goaway->status, kSpdyGoAwayProtocolError);
    server.wait_closed();
    EXPECT_NE(server.error().find("unsupported SPDY version 2"), std::string::npos)
        << server.error();
    // The socket is half-closed after the GOAWAY.
    EXPECT_FALSE(peer.next(2s).has_value());
}

TEST(SpdySessionTest, BadHeaderBlockIsAProtocolError) {
    auto [peer_fd, server_fd] = socket_pair();
    SpdySession server(server_fd, SpdySession::Role::Server);
    server.set_stream_handler([](std::shared_ptr<SpdyStream>) { return true; });
    server.start();
    RawPeer peer(peer_fd);
    peer.send(
        {.type = SpdyFrameType::SynStream, .stream_id = 1, .header_block = "definitely not zlib"});
    auto goaway = peer.next_of(SpdyFrameType::GoAway);
    ASSERT_TRUE(goaway.has_value());
    EXPECT_EQ(goaway->status, kSpdyGoAwayProtocolError);
    server.wait_closed();
    EXPECT_NE(server.error().find("protocol error"), std::string::npos);
}

TEST(SpdySessionTest, InitialInputIsProcessedFirst) {
    // The HTTP server read the first SYN_STREAM along with the upgrade request.
    SpdyHeaderCompressor compressor;
    SpdyFrame syn{.type = SpdyFrameType::SynStream, .stream_id = 1};
    syn.header_block = compressor.compress(SpdyHeaders{{"streamtype", "error"}});
    auto [peer_fd, server_fd] = socket_pair();
    StreamInbox inbox;
    SpdySession server(server_fd, SpdySession::Role::Server, {}, encode_spdy_frame(syn));
    server.set_stream_handler(inbox.handler());
    server.start();
    auto stream = inbox.take();
    ASSERT_NE(stream, nullptr);
    EXPECT_EQ(stream->header("streamtype"), "error");
    RawPeer peer(peer_fd);
    ASSERT_TRUE(peer.next_of(SpdyFrameType::SynReply).has_value());
    EXPECT_EQ(peer.last_headers(), SpdyHeaders{});
}

TEST(SpdySessionTest, OpenTimesOutWithoutReply) {
    auto [peer_fd, client_fd] = socket_pair();
    SpdySession client(client_fd, SpdySession::Role::Client, {.open_timeout = 200ms});
    client.start();
    RawPeer peer(peer_fd);
    EXPECT_EQ(client.open_stream({{"streamtype", "stdin"}}), nullptr);
    auto syn = peer.next_of(SpdyFrameType::SynStream);
    ASSERT_TRUE(syn.has_value());
    EXPECT_EQ(peer.last_headers(), (SpdyHeaders{{"streamtype", "stdin"}}));
    auto rst = peer.next_of(SpdyFrameType::RstStream);
    ASSERT_TRUE(rst.has_value());
    EXPECT_EQ(rst->stream_id, syn->stream_id);
    EXPECT_EQ(rst->status, kSpdyCancel);
}

}  // namespace
}  // namespace berth::stream
