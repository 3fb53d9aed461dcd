// WebSocket (RFC 6455): frames against the RFC's own byte vectors, the
// decoder against hostile input, and whole connections over socket pairs.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "berth/stream/websocket_connection.hpp"
#include "berth/stream/websocket_frame.hpp"
#include "berth/stream/websocket_handshake.hpp"

namespace berth::stream {
namespace {

using namespace std::chrono_literals;

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int value : values)
        out.push_back(static_cast<char>(value));
    return out;
}

const WebSocketMaskKey kRfcKey{0x37, 0xfa, 0x21, 0x3d};

// Decodes all of `wire` as `role` and expects exactly one frame.
WebSocketFrame decode_one(WebSocketRole role, const std::string& wire) {
    WebSocketFrameDecoder decoder(role, 1 << 20);
    decoder.feed(wire);
    auto frame = decoder.next();
    EXPECT_TRUE(frame.has_value()) << (decoder.error() ? decoder.error()->message : "incomplete");
    EXPECT_EQ(decoder.buffered(), 0u);
    EXPECT_FALSE(decoder.next().has_value());
    return frame.value_or(WebSocketFrame{});
}

// The decoder's verdict on `wire`: the error message, or "" if it decoded.
std::string decode_error(WebSocketRole role, const std::string& wire,
                         std::size_t max_payload = 1 << 20) {
    WebSocketFrameDecoder decoder(role, max_payload);
    decoder.feed(wire);
    while (decoder.next()) {
    }
    return decoder.error() ? decoder.error()->message : "";
}

// --- RFC 6455 section 5.7 examples ----------------------------------------

TEST(WebSocketFrame, RfcSingleFrameUnmaskedText) {
    const std::string wire = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
    EXPECT_EQ(encode_websocket_frame(WebSocketOpcode::Text, "Hello"), wire);
    const WebSocketFrame frame = decode_one(WebSocketRole::Client, wire);
    EXPECT_TRUE(frame.fin);
    EXPECT_EQ(frame.opcode, WebSocketOpcode::Text);
    EXPECT_EQ(frame.payload, "Hello");
}

TEST(WebSocketFrame, RfcSingleFrameMaskedText) {
    const std::string wire =
        bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    EXPECT_EQ(encode_websocket_frame(WebSocketOpcode::Text, "Hello", true, &kRfcKey), wire);
    const WebSocketFrame frame = decode_one(WebSocketRole::Server, wire);
    EXPECT_EQ(frame.opcode, WebSocketOpcode::Text);
    EXPECT_EQ(frame.payload, "Hello");
}

TEST(WebSocketFrame, RfcFragmentedUnmaskedText) {
    const std::string first = bytes({0x01, 0x03, 0x48, 0x65, 0x6c});
    const std::string second = bytes({0x80, 0x02, 0x6c, 0x6f});
    EXPECT_EQ(encode_websocket_frame(WebSocketOpcode::Text, "Hel", false), first);
    EXPECT_EQ(encode_websocket_frame(WebSocketOpcode::Continuation, "lo", true), second);

    WebSocketFrameDecoder decoder(WebSocketRole::Client, 1024);
    decoder.feed(first + second);
    auto a = decoder.next();
    auto b = decoder.next();
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(a->fin);
    EXPECT_EQ(a->opcode, WebSocketOpcode::Text);
    EXPECT_EQ(a->payload, "Hel");
    EXPECT_TRUE(b->fin);
    EXPECT_EQ(b->opcode, WebSocketOpcode::Continuation);
    EXPECT_EQ(b->payload, "lo");
}

TEST(WebSocketFrame, RfcPingAndMaskedPong) {
    const std::string ping = bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
    const std::string pong =
        bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    EXPECT_EQ(encode_websocket_frame(WebSocketOpcode::Ping, "Hello"), ping);
    EXPECT_EQ(encode_websocket_frame(WebSocketOpcode::Pong, "Hello", true, &kRfcKey), pong);
    EXPECT_EQ(decode_one(WebSocketRole::Client, ping).opcode, WebSocketOpcode::Ping);
    const WebSocketFrame decoded_pong = decode_one(WebSocketRole::Server, pong);
    EXPECT_EQ(decoded_pong.opcode, WebSocketOpcode::Pong);
    EXPECT_EQ(decoded_pong.payload, "Hello");
}

TEST(WebSocketFrame, Rfc256ByteBinaryUses16BitLength) {
    const std::string payload(256, '\x5a');
    const std::string wire = encode_websocket_frame(WebSocketOpcode::Binary, payload);
    ASSERT_EQ(wire.size(), 4u + 256u);
    EXPECT_EQ(wire.substr(0, 4), bytes({0x82, 0x7E, 0x01, 0x00}));
    EXPECT_EQ(decode_one(WebSocketRole::Client, wire).payload, payload);
}

TEST(WebSocketFrame, Rfc64KiBBinaryUses64BitLength) {
    std::string payload(65536, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>(i * 7);
    const std::string wire = encode_websocket_frame(WebSocketOpcode::Binary, payload);
    ASSERT_EQ(wire.size(), 10u + 65536u);
    EXPECT_EQ(wire.substr(0, 10), bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
    EXPECT_EQ(decode_one(WebSocketRole::Client, wire).payload, payload);
}

// --- round trips ---------------------------------------------------------

TEST(WebSocketFrame, RoundTripsEveryLengthFormInBothDirections) {
    std::mt19937 random(42);
    for (std::size_t size : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 200000u}) {
        std::string payload(size, '\0');
        for (auto& c : payload)
            c = static_cast<char>(random());
        const WebSocketMaskKey key = random_websocket_mask_key();
        const std::string masked =
            encode_websocket_frame(WebSocketOpcode::Binary, payload, true, &key);
        const std::string plain = encode_websocket_frame(WebSocketOpcode::Binary, payload);
        EXPECT_EQ(decode_one(WebSocketRole::Server, masked).payload, payload) << size;
        EXPECT_EQ(decode_one(WebSocketRole::Client, plain).payload, payload) << size;
        // Every key byte shows from four bytes on; only an all-zero key
        // (one in 2^32) would leave such a payload as it was.
        if (size >= 4) {
            EXPECT_NE(masked.substr(masked.size() - size), payload) << "payload was not masked";
        }
    }
}

TEST(WebSocketFrame, DecodesOneByteAtATime) {
    std::string wire;
    encode_websocket_frame(wire, WebSocketOpcode::Text, "first", true, &kRfcKey);
    encode_websocket_frame(wire, WebSocketOpcode::Ping, "p", true, &kRfcKey);
    encode_websocket_frame(wire, WebSocketOpcode::Binary, std::string(300, 'x'), true, &kRfcKey);
    WebSocketFrameDecoder decoder(WebSocketRole::Server, 1024);
    std::vector<WebSocketFrame> frames;
    for (char c : wire) {
        decoder.feed(std::string_view(&c, 1));
        while (auto frame = decoder.next())
            frames.push_back(std::move(*frame));
    }
    ASSERT_FALSE(decoder.failed());
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[0].payload, "first");
    EXPECT_EQ(frames[1].opcode, WebSocketOpcode::Ping);
    EXPECT_EQ(frames[2].payload, std::string(300, 'x'));
    EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(WebSocketFrame, MaskingInPiecesMatchesMaskingAtOnce) {
    std::string whole = "The quick brown fox jumps over the lazy dog";
    std::string pieces = whole;
    apply_websocket_mask(whole.data(), whole.size(), kRfcKey);
    apply_websocket_mask(pieces.data(), 5, kRfcKey, 0);
    apply_websocket_mask(pieces.data() + 5, pieces.size() - 5, kRfcKey, 5);
    EXPECT_EQ(whole, pieces);
    apply_websocket_mask(whole.data(), whole.size(), kRfcKey);
    EXPECT_EQ(whole, "The quick brown fox jumps over the lazy dog");
}

TEST(WebSocketFrame, RandomMaskKeysDiffer) {
    EXPECT_NE(random_websocket_mask_key(), random_websocket_mask_key());
}

// --- bad input -----------------------------------------------------------

TEST(WebSocketFrame, RejectsReservedBits) {
    for (int rsv : {0x40, 0x20, 0x10}) {
        std::string wire = encode_websocket_frame(WebSocketOpcode::Text, "x");
        wire[0] = static_cast<char>(wire[0] | rsv);
        EXPECT_NE(decode_error(WebSocketRole::Client, wire).find("reserved bits"),
                  std::string::npos);
    }
}

TEST(WebSocketFrame, RejectsReservedOpcodes) {
    for (int opcode : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        const std::string wire = bytes({0x80 | opcode, 0x00});
        EXPECT_NE(decode_error(WebSocketRole::Client, wire).find("reserved opcode"),
                  std::string::npos)
            << opcode;
    }
}

TEST(WebSocketFrame, RejectsFragmentedControlFrames) {
    for (int opcode : {0x8, 0x9, 0xA}) {
        const std::string wire = bytes({opcode, 0x00});  // FIN clear
        EXPECT_EQ(decode_error(WebSocketRole::Client, wire), "fragmented control frame");
    }
}

TEST(WebSocketFrame, RejectsControlFramesOver125Bytes) {
    const std::string wire = encode_websocket_frame(WebSocketOpcode::Ping, std::string(126, 'p'));
    EXPECT_EQ(decode_error(WebSocketRole::Client, wire), "control frame longer than 125 bytes");
    const std::string ok = encode_websocket_frame(WebSocketOpcode::Ping, std::string(125, 'p'));
    EXPECT_EQ(decode_error(WebSocketRole::Client, ok), "");
}

TEST(WebSocketFrame, ServerRejectsUnmaskedAndClientRejectsMasked) {
    EXPECT_EQ(
        decode_error(WebSocketRole::Server, encode_websocket_frame(WebSocketOpcode::Text, "x")),
        "unmasked frame from a client");
    EXPECT_EQ(decode_error(WebSocketRole::Client,
                           encode_websocket_frame(WebSocketOpcode::Text, "x", true, &kRfcKey)),
              "masked frame from a server");
}

TEST(WebSocketFrame, RefusesOversizedFramesBeforeBufferingThem) {
    // The header alone announces 1 TiB; nothing of it may be waited for.
    const std::string header = bytes({0x82, 0x7F, 0, 0, 0x01, 0, 0, 0, 0, 0});
    WebSocketFrameDecoder decoder(WebSocketRole::Client, 1024);
    decoder.feed(header);
    EXPECT_FALSE(decoder.next().has_value());
    ASSERT_TRUE(decoder.failed());
    EXPECT_EQ(decoder.error()->close_code, close_code::kMessageTooBig);
    EXPECT_EQ(decoder.buffered(), 0u);
    decoder.feed(std::string(4096, 'x'));  // ignored once failed
    EXPECT_EQ(decoder.buffered(), 0u);

    EXPECT_EQ(
        decode_error(WebSocketRole::Client,
                     encode_websocket_frame(WebSocketOpcode::Binary, std::string(1025, 'x')), 1024),
        "frame payload of 1025 bytes exceeds the limit of 1024");
    EXPECT_EQ(
        decode_error(WebSocketRole::Client,
                     encode_websocket_frame(WebSocketOpcode::Binary, std::string(1024, 'x')), 1024),
        "");
}

TEST(WebSocketFrame, RejectsLengthWithTopBitSet) {
    const std::string wire = bytes({0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(decode_error(WebSocketRole::Client, wire), "payload length with the top bit set");
}

TEST(WebSocketFrame, TruncatedInputWaitsWithoutError) {
    const std::string wire =
        encode_websocket_frame(WebSocketOpcode::Binary, std::string(70000, 'x'), true, &kRfcKey);
    for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{5},
                            std::size_t{9}, std::size_t{13}, wire.size() - 1}) {
        WebSocketFrameDecoder decoder(WebSocketRole::Server, 1 << 20);
        decoder.feed(std::string_view(wire).substr(0, cut));
        EXPECT_FALSE(decoder.next().has_value()) << cut;
        EXPECT_FALSE(decoder.failed()) << cut;
        EXPECT_EQ(decoder.buffered(), cut);
    }
}

TEST(WebSocketFrame, RandomGarbageNeverCrashesOrGrowsUnbounded) {
    std::mt19937 random(7);
    for (int round = 0; round < 2000; ++round) {
        std::string junk(random() % 64, '\0');
        for (auto& c : junk)
            c = static_cast<char>(random());
        for (WebSocketRole role : {WebSocketRole::Client, WebSocketRole::Server}) {
            WebSocketFrameDecoder decoder(role, 256);
            decoder.feed(junk);
            while (auto frame = decoder.next()) {
                EXPECT_LE(frame->payload.size(), 256u);
            }
            EXPECT_LE(decoder.buffered(), junk.size());
        }
    }
}

// --- close payloads and UTF-8 -----------------------------------------------

TEST(WebSocketClose, EncodesAndParsesCodeAndReason) {
    const std::string payload = encode_close_payload(1001, "going away");
    EXPECT_EQ(payload.substr(0, 2), bytes({0x03, 0xE9}));
    const auto status = parse_close_payload(payload);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code, 1001);
    EXPECT_EQ(status->reason, "going away");

    const auto empty = parse_close_payload("");
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->code, close_code::kNoStatus);
}

TEST(WebSocketClose, RejectsInvalidPayloads) {
    EXPECT_FALSE(parse_close_payload(bytes({0x03})));                    // one byte
    EXPECT_FALSE(parse_close_payload(bytes({0x03, 0xED})));              // 1005 never on the wire
    EXPECT_FALSE(parse_close_payload(bytes({0x03, 0xEE})));              // 1006 neither
    EXPECT_FALSE(parse_close_payload(bytes({0x03, 0xE7})));              // 999
    EXPECT_FALSE(parse_close_payload(bytes({0x13, 0x88})));              // 5000
    EXPECT_FALSE(parse_close_payload(bytes({0x03, 0xE8, 0xC0, 0xAF})));  // overlong '/'
    EXPECT_TRUE(parse_close_payload(bytes({0x0F, 0xA0})));               // 4000, private use
}

TEST(WebSocketClose, LongReasonIsCutAtACharacterBoundary) {
    std::string reason;
    for (int i = 0; i < 100; ++i)
        reason += "\xC3\xA9";  // é, two bytes each
    const std::string payload = encode_close_payload(1000, reason);
    EXPECT_LE(payload.size(), kMaxControlPayload);
    const auto status = parse_close_payload(payload);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->reason.size(), 122u);  // 123 bytes of room, an even number fits
}

TEST(WebSocketUtf8, AcceptsValidAndRejectsInvalid) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii"));
    EXPECT_TRUE(is_valid_utf8("\xCE\xBA\xE1\xBD\xB9\xF0\x9F\x98\x80"));
    EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // a surrogate
    EXPECT_FALSE(is_valid_utf8("\xC0\x80"));          // overlong NUL
    EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation
    EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
    EXPECT_FALSE(is_valid_utf8("\xFF"));
}

// --- handshake keys --------------------------------------------------------

// RFC 6455 section 1.3 (and 4.2.2). Checked independently with
// `printf '%s' "$key$guid" | openssl sha1 -binary | base64`.
TEST(WebSocketHandshake, AcceptKeyMatchesRfcExample) {
    EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, ClientKeysAreRandomAndValid) {
    const std::string a = make_websocket_key();
    const std::string b = make_websocket_key();
    EXPECT_NE(a, b);
    EXPECT_EQ(a.size(), 24u);
    EXPECT_TRUE(is_valid_websocket_key(a));
    EXPECT_TRUE(is_valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_FALSE(is_valid_websocket_key(""));
    EXPECT_FALSE(is_valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ"));
    EXPECT_FALSE(is_valid_websocket_key("dGhlIHNhbXBsZSBub2!jZQ=="));
    EXPECT_FALSE(is_valid_websocket_key("dGhlIHNhbXBsZSBub25jZQo="));
}

// --- connections ------------------------------------------------------------

struct SocketPair {
    OwnedFd a;
    OwnedFd b;
    SocketPair() {
        std::array<int, 2> fds{};
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

WebSocketConnection::Options quick_options() {
    WebSocketConnection::Options options;
    options.write_timeout = 2s;
    options.close_timeout = 2s;
    options.read_timeout = 10s;  // a broken test fails instead of hanging
    return options;
}

// A peer that speaks raw frames, to send what a well-behaved connection would not.
class RawPeer {
public:
    RawPeer(OwnedFd fd, WebSocketRole role) : fd_(std::move(fd)), decoder_(role, 1 << 24) {}

    void write(const std::string& wire) {
        ASSERT_EQ(::send(fd_.get(), wire.data(), wire.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(wire.size()));
    }
    // The next frame from the other side, or nullopt after EOF or 5 s.
    std::optional<WebSocketFrame> read_frame() {
        for (;;) {
            if (auto frame = decoder_.next())
                return frame;
            if (decoder_.failed())
                return std::nullopt;
            pollfd pfd{fd_.get(), POLLIN, 0};
            if (::poll(&pfd, 1, 5000) <= 0)
                return std::nullopt;
            std::array<char, 65536> buffer;
            const ssize_t got = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
            if (got <= 0)
                return std::nullopt;
            decoder_.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
        }
    }
    int fd() const { return fd_.get(); }
    void close() { fd_.reset(); }

private:
    OwnedFd fd_;
    WebSocketFrameDecoder decoder_;
};

std::string masked(WebSocketOpcode opcode, std::string_view payload, bool fin = true) {
    return encode_websocket_frame(opcode, payload, fin, &kRfcKey);
}

TEST(WebSocketConnection, MessagesFlowBothWays) {
    SocketPair pair;
    WebSocketConnection client(std::move(pair.a), WebSocketRole::Client, {}, quick_options());
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, quick_options());

    ASSERT_TRUE(client.send_text("hello server"));
    ASSERT_TRUE(client.send_binary(std::string("\0\1\2", 3)));
    auto first = server.read_message();
    auto second = server.read_message();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->opcode, WebSocketOpcode::Text);
    EXPECT_EQ(first->payload, "hello server");
    EXPECT_EQ(second->opcode, WebSocketOpcode::Binary);
    EXPECT_EQ(second->payload, std::string("\0\1\2", 3));

    ASSERT_TRUE(server.send_text("hello client"));
    auto reply = client.read_message();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->payload, "hello client");
    ASSERT_TRUE(server.send_binary(""));
    auto empty = client.read_message();
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->payload, "");
}

TEST(WebSocketConnection, ClientFramesAreMaskedAndServerFramesAreNot) {
    SocketPair pair;
    WebSocketConnection client(std::move(pair.a), WebSocketRole::Client);
    RawPeer server_side(std::move(pair.b), WebSocketRole::Server);  // insists on masks
    ASSERT_TRUE(client.send_text("masked please"));
    auto frame = server_side.read_frame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->payload, "masked please");

    SocketPair other;
    WebSocketConnection server(std::move(other.a), WebSocketRole::Server);
    RawPeer client_side(std::move(other.b), WebSocketRole::Client);  // insists on none
    ASSERT_TRUE(server.send_text("plain"));
    auto plain = client_side.read_frame();
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->payload, "plain");
}

TEST(WebSocketConnection, InitialInputIsTheStartOfTheStream) {
    SocketPair pair;
    const std::string early =
        masked(WebSocketOpcode::Text, "early") + masked(WebSocketOpcode::Binary, "half", false);
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, early, quick_options());
    RawPeer client(std::move(pair.a), WebSocketRole::Client);
    auto first = server.read_message();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->payload, "early");
    client.write(masked(WebSocketOpcode::Continuation, " and half"));
    auto second = server.read_message();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->opcode, WebSocketOpcode::Binary);
    EXPECT_EQ(second->payload, "half and half");
}

TEST(WebSocketConnection, ReassemblesFragmentsAndAnswersPingsBetweenThem) {
    SocketPair pair;
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, quick_options());
    RawPeer client(std::move(pair.a), WebSocketRole::Client);
    client.write(masked(WebSocketOpcode::Text, "frag", false));
    client.write(masked(WebSocketOpcode::Ping, "are you there"));  // allowed mid-message
    client.write(masked(WebSocketOpcode::Continuation, "men", false));
    client.write(masked(WebSocketOpcode::Continuation, "ted", true));
    auto message = server.read_message();
    ASSERT_TRUE(message);
    EXPECT_EQ(message->opcode, WebSocketOpcode::Text);
    EXPECT_EQ(message->payload, "fragmented");
    auto pong = client.read_frame();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->opcode, WebSocketOpcode::Pong);
    EXPECT_EQ(pong->payload, "are you there");
}

TEST(WebSocketConnection, SendFragmentsLargeMessagesThatThePeerReassembles) {
    SocketPair pair;
    auto options = quick_options();
    options.max_send_fragment = 4;
    WebSocketConnection client(std::move(pair.a), WebSocketRole::Client, {}, options);
    RawPeer raw(std::move(pair.b), WebSocketRole::Server);
    ASSERT_TRUE(client.send_text("0123456789"));
    std::vector<WebSocketFrame> frames;
    for (int i = 0; i < 3; ++i) {
        auto frame = raw.read_frame();
        ASSERT_TRUE(frame);
        frames.push_back(*frame);
    }
    EXPECT_EQ(frames[0].opcode, WebSocketOpcode::Text);
    EXPECT_FALSE(frames[0].fin);
    EXPECT_EQ(frames[1].opcode, WebSocketOpcode::Continuation);
    EXPECT_FALSE(frames[1].fin);
    EXPECT_EQ(frames[2].opcode, WebSocketOpcode::Continuation);
    EXPECT_TRUE(frames[2].fin);
    EXPECT_EQ(frames[0].payload + frames[1].payload + frames[2].payload, "0123456789");

    SocketPair again;
    WebSocketConnection sender(std::move(again.a), WebSocketRole::Client, {}, options);
    WebSocketConnection receiver(std::move(again.b), WebSocketRole::Server, {}, quick_options());
    ASSERT_TRUE(sender.send_binary("fragments make a whole"));
    auto whole = receiver.read_message();
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole->payload, "fragments make a whole");
}

TEST(WebSocketConnection, OneMebibyteMessageArrivesIntact) {
    SocketPair pair;
    WebSocketConnection client(std::move(pair.a), WebSocketRole::Client, {}, quick_options());
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, quick_options());
    std::string payload(1 << 20, '\0');
    std::mt19937 random(1);
    for (auto& c : payload)
        c = static_cast<char>(random());
    const auto checksum = [](const std::string& data) {
        std::uint64_t hash = 1469598103934665603ull;  // FNV-1a
        for (unsigned char c : data)
            hash = (hash ^ c) * 1099511628211ull;
        return hash;
    };

    // The socket buffer is far smaller than 1 MiB: read while sending.
    auto received = std::async(std::launch::async, [&] { return server.read_message(); });
    ASSERT_TRUE(client.send_binary(payload));
    auto message = received.get();
    ASSERT_TRUE(message);
    EXPECT_EQ(message->payload.size(), payload.size());
    EXPECT_EQ(checksum(message->payload), checksum(payload));

    // And back, server to client.
    auto echoed = std::async(std::launch::async, [&] { return client.read_message(); });
    ASSERT_TRUE(server.send_binary(message->payload));
    auto back = echoed.get();
    ASSERT_TRUE(back);
    EXPECT_EQ(checksum(back->payload), checksum(payload));
}

TEST(WebSocketConnection, ConcurrentSendersNeverInterleaveFrames) {
    SocketPair pair;
    auto options = quick_options();
    options.max_send_fragment = 7;  // many fragments per message
    WebSocketConnection client(std::move(pair.a), WebSocketRole::Client, {}, options);
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, quick_options());
    constexpr int kPerThread = 50;
    auto reader = std::async(std::launch::async, [&] {
        std::vector<std::string> got;
        for (int i = 0; i < 4 * kPerThread; ++i) {
            auto message = server.read_message();
            if (!message)
                break;
            got.push_back(message->payload);
        }
        return got;
    });
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t) {
        senders.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                client.send_text(std::string(40, static_cast<char>('a' + t)));
            }
        });
    }
    for (auto& sender : senders)
        sender.join();
    const auto got = reader.get();
    ASSERT_EQ(got.size(), 4u * kPerThread);
    for (const auto& message : got) {
        EXPECT_EQ(message, std::string(40, message[0]));
    }
}

TEST(WebSocketConnection, ClosingHandshakeInitiatedByEitherSide) {
    SocketPair pair;
    WebSocketConnection client(std::move(pair.a), WebSocketRole::Client, {}, quick_options());
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, quick_options());
    ASSERT_TRUE(client.send_text("last words"));

    // The server reads in a thread while the client closes.
    auto reader = std::async(std::launch::async, [&] {
        std::vector<std::string> got;
        while (auto message = server.read_message())
            got.push_back(message->payload);
        return got;
    });
    const auto started = std::chrono::steady_clock::now();
    client.close(close_code::kNormal, "bye");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s) << "close waited for its timeout";
    const auto got = reader.get();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], "last words");

    ASSERT_TRUE(server.peer_close_status());
    EXPECT_EQ(server.peer_close_status()->code, close_code::kNormal);
    EXPECT_EQ(server.peer_close_status()->reason, "bye");
    ASSERT_TRUE(client.peer_close_status());
    EXPECT_EQ(client.peer_close_status()->code, close_code::kNormal);
    EXPECT_EQ(server.error(), "");
    EXPECT_EQ(client.error(), "");
    EXPECT_FALSE(client.send_text("too late"));
    EXPECT_FALSE(server.send_text("too late"));
    EXPECT_FALSE(client.read_message());
}

TEST(WebSocketConnection, CloseWhileAnotherThreadIsReading) {
    SocketPair pair;
    WebSocketConnection client(std::move(pair.a), WebSocketRole::Client, {}, quick_options());
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, quick_options());
    auto client_reader = std::async(std::launch::async, [&] { return client.read_message(); });
    auto server_reader = std::async(std::launch::async, [&] { return server.read_message(); });
    std::this_thread::sleep_for(50ms);  // both readers blocked on their sockets
    server.close(close_code::kGoingAway, "shutting down");
    EXPECT_FALSE(client_reader.get());
    EXPECT_FALSE(server_reader.get());
    ASSERT_TRUE(client.peer_close_status());
    EXPECT_EQ(client.peer_close_status()->code, close_code::kGoingAway);
    EXPECT_EQ(client.peer_close_status()->reason, "shutting down");
    ASSERT_TRUE(server.peer_close_status());
    EXPECT_EQ(server.peer_close_status()->code, close_code::kGoingAway);  // echoed
    EXPECT_EQ(server.error(), "");
}

TEST(WebSocketConnection, CloseGivesUpOnASilentPeer) {
    SocketPair pair;
    auto options = quick_options();
    options.close_timeout = 200ms;
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, options);
    RawPeer silent(std::move(pair.a), WebSocketRole::Client);
    const auto started = std::chrono::steady_clock::now();
    server.close(close_code::kNormal, "");
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_GE(took, 150ms);
    EXPECT_LT(took, 2s);
    EXPECT_NE(server.error().find("did not answer"), std::string::npos) << server.error();
    auto close = silent.read_frame();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->opcode, WebSocketOpcode::Close);
    EXPECT_EQ(close->payload, encode_close_payload(close_code::kNormal, ""));
}

TEST(WebSocketConnection, VanishedPeerEndsReadsAndSends) {
    SocketPair pair;
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, quick_options());
    pair.a.reset();
    EXPECT_FALSE(server.read_message());
    EXPECT_EQ(server.error(), "connection closed without a Close frame");
    EXPECT_FALSE(server.send_text("anyone?"));

    SocketPair other;
    WebSocketConnection client(std::move(other.a), WebSocketRole::Client, {}, quick_options());
    other.b.reset();
    EXPECT_FALSE(client.send_text("anyone?"));
    EXPECT_NE(client.error().find("write failed"), std::string::npos) << client.error();
    EXPECT_FALSE(client.read_message());
}

TEST(WebSocketConnection, PeerThatStopsReadingTimesOutTheWriter) {
    SocketPair pair;
    auto options = quick_options();
    options.write_timeout = 200ms;
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, options);
    const std::string chunk(256 * 1024, 'z');
    const auto started = std::chrono::steady_clock::now();
    bool sent = true;
    for (int i = 0; i < 100 && sent; ++i)
        sent = server.send_binary(chunk);
    EXPECT_FALSE(sent);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_NE(server.error().find("took no data"), std::string::npos) << server.error();
    EXPECT_FALSE(server.read_message());  // the stream is unusable, reads end too
}

TEST(WebSocketConnection, ShutdownUnblocksAReader) {
    SocketPair pair;
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server);  // no read timeout
    auto reader = std::async(std::launch::async, [&] { return server.read_message(); });
    std::this_thread::sleep_for(50ms);
    server.shutdown();
    ASSERT_EQ(reader.wait_for(2s), std::future_status::ready);
    EXPECT_FALSE(reader.get());
}

TEST(WebSocketConnection, ProtocolViolationsCloseWithTheRightCode) {
    struct Case {
        std::string wire;
        std::uint16_t code;
        std::string error;
    };
    const std::vector<Case> cases = {
        {encode_websocket_frame(WebSocketOpcode::Text, "unmasked"), close_code::kProtocolError,
         "unmasked frame from a client"},
        {masked(WebSocketOpcode::Continuation, "orphan"), close_code::kProtocolError,
         "continuation frame without a message"},
        {masked(WebSocketOpcode::Text, "a", false) + masked(WebSocketOpcode::Text, "b"),
         close_code::kProtocolError, "a new message began inside a fragmented one"},
        {masked(WebSocketOpcode::Text, "\xC3\x28"), close_code::kInvalidPayload,
         "text message is not valid UTF-8"},
        {masked(WebSocketOpcode::Binary, std::string(40, 'x'), false) +
             masked(WebSocketOpcode::Continuation, std::string(40, 'x')),
         close_code::kMessageTooBig, "message exceeds the limit of 64 bytes"},
        {masked(WebSocketOpcode::Close, bytes({0x03})), close_code::kProtocolError,
         "invalid Close frame payload"},
    };
    for (const auto& test : cases) {
        SocketPair pair;
        auto options = quick_options();
        options.max_message_size = 64;
        options.close_timeout = 100ms;
        WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, options);
        RawPeer client(std::move(pair.a), WebSocketRole::Client);
        client.write(test.wire);
        EXPECT_FALSE(server.read_message()) << test.error;
        EXPECT_EQ(server.error(), test.error);
        auto close = client.read_frame();
        ASSERT_TRUE(close) << test.error;
        EXPECT_EQ(close->opcode, WebSocketOpcode::Close);
        const auto status = parse_close_payload(close->payload);
        ASSERT_TRUE(status);
        EXPECT_EQ(status->code, test.code) << test.error;
        EXPECT_FALSE(server.send_text("after the failure"));
    }
}

TEST(WebSocketConnection, AbnormalCloseCodeFromThePeerIsReported) {
    SocketPair pair;
    WebSocketConnection server(std::move(pair.b), WebSocketRole::Server, {}, quick_options());
    RawPeer client(std::move(pair.a), WebSocketRole::Client);
    client.write(masked(WebSocketOpcode::Close, encode_close_payload(1011, "boom")));
    EXPECT_FALSE(server.read_message());
    EXPECT_EQ(server.error(), "peer closed the connection with 1011: boom");
    auto answer = client.read_frame();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->opcode, WebSocketOpcode::Close);
    EXPECT_EQ(parse_close_payload(answer->payload)->code, 1011);
    EXPECT_FALSE(client.read_frame()) << "the server must stop writing after its Close";
}

TEST(WebSocketConnection, RefusesToSendWhatItMustNot) {
    SocketPair pair;
    WebSocketConnection client(std::move(pair.a), WebSocketRole::Client);
    EXPECT_FALSE(client.send(WebSocketOpcode::Ping, std::string(126, 'p')));
    EXPECT_FALSE(client.send(WebSocketOpcode::Close, ""));
    EXPECT_FALSE(client.send(WebSocketOpcode::Continuation, "x"));
    EXPECT_TRUE(client.send(WebSocketOpcode::Ping, "fine"));
}

}  // namespace
}  // namespace berth::stream
