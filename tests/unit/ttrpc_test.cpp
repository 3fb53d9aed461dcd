// The ttrpc client of the VM runtime, against hand-written peers: the bytes on
// the wire are checked against frames assembled by hand here (not produced by
// the code under test), and the fake shims answer with raw frames.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <berth/shim_api.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ttrpc/client.hpp"
#include "ttrpc/server.hpp"

namespace {

using berth::oci::ttrpc::Client;
using berth::oci::ttrpc::Error;
using berth::oci::ttrpc::FrameDecoder;
using berth::oci::ttrpc::FrameHeader;
using berth::stream::OwnedFd;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const std::string kTask = "containerd.task.v2.Task";

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int value : values) {
        out.push_back(static_cast<char>(value));
    }
    return out;
}

// A hand-assembled frame header: length and stream id big-endian.
std::string header(std::uint32_t length, std::uint32_t stream_id, int type) {
    return bytes({static_cast<int>(length >> 24), static_cast<int>((length >> 16) & 0xff),
                  static_cast<int>((length >> 8) & 0xff), static_cast<int>(length & 0xff),
                  static_cast<int>(stream_id >> 24), static_cast<int>((stream_id >> 16) & 0xff),
                  static_cast<int>((stream_id >> 8) & 0xff), static_cast<int>(stream_id & 0xff),
                  type, 0});
}

// A response frame written by hand: ttrpc.Response{payload (field 2)}.
std::string ok_frame(std::uint32_t stream_id, const std::string& payload) {
    EXPECT_LT(payload.size(), 128u);  // one-byte length varints below
    std::string body = bytes({0x12, static_cast<int>(payload.size())}) + payload;
    return header(static_cast<std::uint32_t>(body.size()), stream_id, 2) + body;
}

// ttrpc.Response{status (field 1) = google.rpc.Status{code (1), message (2)}}.
std::string status_frame(std::uint32_t stream_id, int code, const std::string& message) {
    std::string status = bytes({0x08, code, 0x12, static_cast<int>(message.size())}) + message;
    std::string body = bytes({0x0a, static_cast<int>(status.size())}) + status;
    return header(static_cast<std::uint32_t>(body.size()), stream_id, 2) + body;
}

void write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            return;  // the client went away; the test's expectations say whether that was right
        }
        done += static_cast<std::size_t>(n);
    }
}

// Up to `size` bytes: fewer only at end of stream.
std::string read_exact(int fd, std::size_t size) {
    std::string out(size, '\0');
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd, out.data() + done, size - done);
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
}

struct RawFrame {
    std::string raw;  // header and payload as received
    std::uint32_t stream_id = 0;
    int type = 0;
    std::string payload;
    ttrpc::Request request;  // parsed when type is 1
};

// Reads one frame the way a shim would; nothing at end of stream.
std::optional<RawFrame> read_frame(int fd) {
    RawFrame frame;
    const std::string head = read_exact(fd, 10);
    if (head.size() != 10) {
        return std::nullopt;
    }
    const auto* h = reinterpret_cast<const unsigned char*>(head.data());
    const std::uint32_t length = (std::uint32_t{h[0]} << 24) | (std::uint32_t{h[1]} << 16) |
                                 (std::uint32_t{h[2]} << 8) | std::uint32_t{h[3]};
    frame.stream_id = (std::uint32_t{h[4]} << 24) | (std::uint32_t{h[5]} << 16) |
                      (std::uint32_t{h[6]} << 8) | std::uint32_t{h[7]};
    frame.type = h[8];
    frame.payload = read_exact(fd, length);
    if (frame.payload.size() != length) {
        return std::nullopt;
    }
    frame.raw = head + frame.payload;
    if (frame.type == 1) {
        EXPECT_TRUE(frame.request.ParseFromString(frame.payload));
    }
    return frame;
}

// Blocks until the client closes its end.
void wait_for_eof(int fd) {
    char c;
    while (::read(fd, &c, 1) > 0) {
    }
}

struct Pair {
    OwnedFd client;
    OwnedFd shim;
};

Pair socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        ADD_FAILURE() << "socketpair: " << std::strerror(errno);
        return {};
    }
    return {OwnedFd(fds[0]), OwnedFd(fds[1])};
}

long elapsed_ms(Clock::time_point start) {
    return static_cast<long>(
        std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
}

// --- framing --------------------------------------------------------------

TEST(TtrpcFrame, HeaderEncodesBigEndian) {
    FrameHeader h{0x01020304, 5, 1, 0};
    const auto encoded = berth::oci::ttrpc::encode_header(h);
    const std::vector<std::uint8_t> expected = {0x01, 0x02, 0x03, 0x04, 0x00,
                                                0x00, 0x00, 0x05, 0x01, 0x00};
    EXPECT_EQ(std::vector<std::uint8_t>(encoded.begin(), encoded.end()), expected);

    const std::uint8_t raw[10] = {0xff, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x03, 0x02, 0x7f};
    const FrameHeader d = berth::oci::ttrpc::decode_header(raw);
    EXPECT_EQ(d.length, 0xff000001u);
    EXPECT_EQ(d.stream_id, 0x80000003u);
    EXPECT_EQ(d.type, 2);
    EXPECT_EQ(d.flags, 0x7f);
}

TEST(TtrpcFrame, RequestFrameMatchesHandAssembledBytes) {
    const std::string payload = bytes({0x0a, 0x02, 'i', 'd'});
    const std::string frame =
        berth::oci::ttrpc::encode_request_frame(7, kTask, "State", payload, milliseconds(2000));
    // ttrpc.Request: service (1), method (2), payload (3), timeout_nano (4) = 2e9.
    const std::string body = bytes({0x0a, 23}) + kTask + bytes({0x12, 5}) + "State" +
                             bytes({0x1a, 4}) + payload +
                             bytes({0x20, 0x80, 0xa8, 0xd6, 0xb9, 0x07});
    ASSERT_EQ(body.size(), 44u);
    EXPECT_EQ(frame, bytes({0, 0, 0, 44, 0, 0, 0, 7, 1, 0}) + body);

    // No timeout: no timeout_nano field at all.
    const std::string untimed =
        berth::oci::ttrpc::encode_request_frame(1, kTask, "State", payload, milliseconds(0));
    EXPECT_EQ(untimed.substr(10), body.substr(0, 38));
}

TEST(TtrpcFrame, OversizedPayloadIsNotEncoded) {
    const std::string big((4u << 20) + 1, 'x');
    try {
        berth::oci::ttrpc::encode_frame(1, 1, big);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Protocol);
    }
    EXPECT_EQ(berth::oci::ttrpc::encode_frame(1, 1, std::string(4u << 20, 'x')).size(),
              (4u << 20) + 10);
}

TEST(TtrpcFrame, DecoderReassemblesSplitAndBatchedFrames) {
    const std::string stream = ok_frame(1, "first") + header(0, 3, 3) + ok_frame(5, "third");
    // Everything at once.
    FrameDecoder all;
    all.feed(stream.data(), stream.size());
    auto a = all.next();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->header.stream_id, 1u);
    EXPECT_EQ(a->payload, bytes({0x12, 5}) + "first");
    auto b = all.next();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->header.type, 3);
    EXPECT_EQ(b->payload, "");
    auto c = all.next();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->header.stream_id, 5u);
    EXPECT_FALSE(all.next());
    EXPECT_EQ(all.buffered(), 0u);

    // One byte at a time.
    FrameDecoder slow;
    std::vector<std::uint32_t> ids;
    for (char ch : stream) {
        slow.feed(&ch, 1);
        while (auto frame = slow.next()) {
            ids.push_back(frame->header.stream_id);
        }
    }
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{1, 3, 5}));
    EXPECT_EQ(slow.buffered(), 0u);
}

TEST(TtrpcFrame, DecoderRejectsOversizedLengthBeforeBuffering) {
    FrameDecoder decoder;
    const std::string head = header(5u << 20, 1, 2);
    decoder.feed(head.data(), head.size());
    try {
        decoder.next();
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Protocol);
        EXPECT_EQ(e.status_code(), 13);
        EXPECT_NE(std::string(e.what()).find("5242880"), std::string::npos) << e.what();
    }
    EXPECT_EQ(decoder.buffered(), 10u);
}

TEST(TtrpcError, KindsCarryGrpcCodes) {
    EXPECT_EQ(Error(Error::Kind::Closed, "x").status_code(), 14);
    EXPECT_EQ(Error(Error::Kind::Timeout, "x").status_code(), 4);
    EXPECT_EQ(Error(Error::Kind::Protocol, "x").status_code(), 13);
    EXPECT_EQ(Error(Error::Kind::Status, "x", 5).status_code(), 5);
}

// --- the client over a socket pair ----------------------------------------

TEST(TtrpcClient, CallSendsExactFrameAndReturnsPayload) {
    Pair pair = socket_pair();
    std::string received;
    std::thread shim([&] {
        auto frame = read_frame(pair.shim.get());
        ASSERT_TRUE(frame);
        received = frame->raw;
        write_all(pair.shim.get(), ok_frame(frame->stream_id, "pong"));
    });
    Client client(std::move(pair.client), "test");
    const std::string payload = bytes({0x0a, 0x02, 'i', 'd'});
    EXPECT_EQ(client.call(kTask, "State", payload, milliseconds(2000)), "pong");
    shim.join();
    const std::string expected = bytes({0, 0, 0, 44, 0, 0, 0, 1, 1, 0}) + bytes({0x0a, 23}) +
                                 kTask + bytes({0x12, 5}) + "State" + bytes({0x1a, 4}) + payload +
                                 bytes({0x20, 0x80, 0xa8, 0xd6, 0xb9, 0x07});
    EXPECT_EQ(received, expected);
    EXPECT_FALSE(client.closed());
}

TEST(TtrpcClient, StatusErrorCarriesCodeAndMessage) {
    Pair pair = socket_pair();
    std::thread shim([&] {
        auto frame = read_frame(pair.shim.get());
        ASSERT_TRUE(frame);
        write_all(pair.shim.get(), status_frame(frame->stream_id, 5, "container c1 not found"));
    });
    Client client(std::move(pair.client), "test");
    try {
        client.call(kTask, "Kill", "", milliseconds(2000));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Status);
        EXPECT_EQ(e.status_code(), 5);
        EXPECT_NE(std::string(e.what()).find("container c1 not found"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("Kill"), std::string::npos);
    }
    shim.join();
    EXPECT_FALSE(client.closed());  // an error answer leaves the connection usable
}

TEST(TtrpcClient, ConcurrentCallsAnsweredInReverseOrderEachGetTheirOwn) {
    constexpr int kCalls = 10;
    Pair pair = socket_pair();
    std::set<std::uint32_t> ids;
    std::thread shim([&] {
        std::vector<RawFrame> requests;
        for (int i = 0; i < kCalls; ++i) {
            auto frame = read_frame(pair.shim.get());
            ASSERT_TRUE(frame);
            ids.insert(frame->stream_id);
            requests.push_back(std::move(*frame));
        }
        // Everything in one write: the reader gets many frames per read,
        // among them frames nobody waits for.
        std::string batch = header(3, 99, 3) + "abc" + ok_frame(41, "stray");
        for (auto it = requests.rbegin(); it != requests.rend(); ++it) {
            batch += ok_frame(it->stream_id, "re:" + it->request.payload());
        }
        write_all(pair.shim.get(), batch);
    });
    Client client(std::move(pair.client), "test");
    std::vector<std::string> answers(kCalls);
    std::vector<std::thread> callers;
    for (int i = 0; i < kCalls; ++i) {
        callers.emplace_back([&, i] {
            answers[i] =
                client.call(kTask, "State", "call" + std::to_string(i), milliseconds(5000));
        });
    }
    for (auto& caller : callers) {
        caller.join();
    }
    shim.join();
    for (int i = 0; i < kCalls; ++i) {
        EXPECT_EQ(answers[i], "re:call" + std::to_string(i));
    }
    std::set<std::uint32_t> expected_ids;
    for (std::uint32_t id = 1; id < 2 * kCalls; id += 2) {
        expected_ids.insert(id);
    }
    EXPECT_EQ(ids, expected_ids);
}

TEST(TtrpcClient, PeerClosingMidCallFailsWithClosed) {
    Pair pair = socket_pair();
    std::thread shim([&] {
        EXPECT_TRUE(read_frame(pair.shim.get()));
        pair.shim.reset();
    });
    Client client(std::move(pair.client), "shim-a");
    const auto start = Clock::now();
    try {
        client.call(kTask, "Wait", "", milliseconds(0));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Closed);
        EXPECT_EQ(e.status_code(), 14);
        EXPECT_NE(std::string(e.what()).find("shim-a"), std::string::npos) << e.what();
    }
    EXPECT_LT(elapsed_ms(start), 2000);
    shim.join();
    EXPECT_TRUE(client.closed());
}

TEST(TtrpcClient, HungPeerTimesOutAndLateAnswerIsDropped) {
    Pair pair = socket_pair();
    std::int64_t sent_timeout = 0;
    std::thread shim([&] {
        auto first = read_frame(pair.shim.get());
        ASSERT_TRUE(first);
        sent_timeout = first->request.timeout_nano();
        auto second = read_frame(pair.shim.get());  // sent after the first timed out
        ASSERT_TRUE(second);
        write_all(pair.shim.get(),
                  ok_frame(first->stream_id, "late") + ok_frame(second->stream_id, "fresh"));
    });
    Client client(std::move(pair.client), "test");
    const auto start = Clock::now();
    try {
        client.call(kTask, "Wait", "", milliseconds(200));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Timeout);
        EXPECT_EQ(e.status_code(), 4);
        EXPECT_NE(std::string(e.what()).find("did not answer " + kTask + "/Wait within 200 ms"),
                  std::string::npos)
            << e.what();
    }
    const long waited = elapsed_ms(start);
    EXPECT_GE(waited, 200);
    EXPECT_LT(waited, 1500);
    EXPECT_FALSE(client.closed());
    EXPECT_EQ(client.call(kTask, "State", "", milliseconds(2000)), "fresh");
    shim.join();
    EXPECT_EQ(sent_timeout, 200'000'000);
}

TEST(TtrpcClient, OversizedFrameEndsConnectionWithProtocolError) {
    Pair pair = socket_pair();
    std::thread shim([&] {
        auto frame = read_frame(pair.shim.get());
        ASSERT_TRUE(frame);
        write_all(pair.shim.get(), header(5u << 20, frame->stream_id, 2) + "xyz");
        wait_for_eof(pair.shim.get());
    });
    Client client(std::move(pair.client), "test");
    try {
        client.call(kTask, "Stats", "", milliseconds(5000));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Protocol);
        EXPECT_NE(std::string(e.what()).find("exceeds"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(client.closed());
    // The client shut the socket down, so the fake shim saw the end as well.
    shim.join();
    try {
        client.call(kTask, "Stats", "", milliseconds(5000));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Closed);
    }
}

TEST(TtrpcClient, TruncatedFrameThenEofIsClosed) {
    Pair pair = socket_pair();
    std::thread shim([&] {
        auto frame = read_frame(pair.shim.get());
        ASSERT_TRUE(frame);
        write_all(pair.shim.get(), header(100, frame->stream_id, 2) + std::string(20, 'x'));
        pair.shim.reset();
    });
    Client client(std::move(pair.client), "test");
    try {
        client.call(kTask, "State", "", milliseconds(5000));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Closed);
        EXPECT_NE(std::string(e.what()).find("middle of a frame"), std::string::npos) << e.what();
    }
    shim.join();
}

TEST(TtrpcClient, ResponseSplitByteByByte) {
    Pair pair = socket_pair();
    std::thread shim([&] {
        auto frame = read_frame(pair.shim.get());
        ASSERT_TRUE(frame);
        const std::string answer = ok_frame(frame->stream_id, "slowly but surely");
        for (char ch : answer) {
            write_all(pair.shim.get(), std::string(1, ch));
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });
    Client client(std::move(pair.client), "test");
    EXPECT_EQ(client.call(kTask, "State", "", milliseconds(5000)), "slowly but surely");
    shim.join();
}

TEST(TtrpcClient, CloseFailsPendingAndLaterCallsAtOnce) {
    Pair pair = socket_pair();
    std::atomic<bool> request_seen{false};
    std::thread shim([&] {
        EXPECT_TRUE(read_frame(pair.shim.get()));
        request_seen = true;
        wait_for_eof(pair.shim.get());
    });
    Client client(std::move(pair.client), "test");
    std::optional<Error::Kind> pending_kind;
    std::thread caller([&] {
        try {
            client.call(kTask, "Wait", "", milliseconds(0));
        } catch (const Error& e) {
            pending_kind = e.kind();
        }
    });
    while (!request_seen) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    client.close();
    caller.join();
    shim.join();
    EXPECT_EQ(pending_kind, Error::Kind::Closed);
    EXPECT_TRUE(client.closed());

    const auto start = Clock::now();
    try {
        client.call(kTask, "State", "", milliseconds(0));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Closed);
    }
    EXPECT_LT(elapsed_ms(start), 100);
}

TEST(TtrpcClient, PeerThatStopsReadingDoesNotBlockTheWriter) {
    Pair pair = socket_pair();
    Client client(std::move(pair.client), "test");
    // The fake shim never reads: a request far larger than the socket buffers
    // can only be written in part.
    const std::string big(2u << 20, 'x');
    const auto start = Clock::now();
    try {
        client.call(kTask, "Update", big, milliseconds(200));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Timeout);
    }
    const long waited = elapsed_ms(start);
    EXPECT_GE(waited, 190);
    EXPECT_LT(waited, 1500);
    // Half a frame went out: the connection cannot carry another one.
    EXPECT_TRUE(client.closed());
}

TEST(TtrpcClient, TypedCallSerializesAndParses) {
    Pair pair = socket_pair();
    std::thread shim([&] {
        auto frame = read_frame(pair.shim.get());
        ASSERT_TRUE(frame);
        EXPECT_EQ(frame->request.service(), kTask);
        EXPECT_EQ(frame->request.method(), "State");
        containerd::task::v2::StateRequest request;
        EXPECT_TRUE(request.ParseFromString(frame->request.payload()));
        EXPECT_EQ(request.id(), "c1");
        EXPECT_EQ(request.exec_id(), "e1");
        containerd::task::v2::StateResponse response;
        response.set_id(request.id());
        response.set_pid(4242);
        response.set_status(containerd::v1::types::RUNNING);
        write_all(pair.shim.get(), ok_frame(frame->stream_id, response.SerializeAsString()));

        // Then an answer that is no StateResponse at all.
        auto second = read_frame(pair.shim.get());
        ASSERT_TRUE(second);
        write_all(pair.shim.get(), ok_frame(second->stream_id, bytes({0xff, 0xff})));
    });
    Client client(std::move(pair.client), "test");
    containerd::task::v2::StateRequest request;
    request.set_id("c1");
    request.set_exec_id("e1");
    const auto state = client.call<containerd::task::v2::StateResponse>(kTask, "State", request,
                                                                        milliseconds(2000));
    EXPECT_EQ(state.id(), "c1");
    EXPECT_EQ(state.pid(), 4242u);
    EXPECT_EQ(state.status(), containerd::v1::types::RUNNING);
    try {
        client.call<containerd::task::v2::StateResponse>(kTask, "State", request,
                                                         milliseconds(2000));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Protocol);
    }
    shim.join();
}

// --- connect ----------------------------------------------------------------

class TtrpcConnect : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "berth-ttrpc-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // A listening socket at `addr` (a path, or "@name" for an abstract one).
    static OwnedFd listen_at(const std::string& addr, int backlog = 8) {
        OwnedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, addr.data(), addr.size());
        socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + addr.size());
        if (addr[0] == '@') {
            sa.sun_path[0] = '\0';
        } else {
            ++length;
        }
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), length), 0)
            << std::strerror(errno);
        EXPECT_EQ(::listen(fd.get(), backlog), 0);
        return fd;
    }

    // Accepts one connection and answers one call with "hello".
    static std::thread serve_once(int listener) {
        return std::thread([listener] {
            OwnedFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
            ASSERT_TRUE(conn);
            auto frame = read_frame(conn.get());
            ASSERT_TRUE(frame);
            write_all(conn.get(), ok_frame(frame->stream_id, "hello"));
            wait_for_eof(conn.get());
        });
    }

    std::filesystem::path dir_;
};

TEST_F(TtrpcConnect, NoListenerIsClosedNamingThePath) {
    const std::string path = (dir_ / "missing.sock").string();
    try {
        Client::connect("unix://" + path, milliseconds(1000));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Closed);
        EXPECT_EQ(e.status_code(), 14);
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
    }
}

TEST_F(TtrpcConnect, PathForms) {
    const std::string path = (dir_ / "shim.sock").string();
    OwnedFd listener = listen_at(path);
    for (const std::string& address : {"unix://" + path, path}) {
        std::thread server = serve_once(listener.get());
        {
            auto client = Client::connect(address, milliseconds(1000));
            EXPECT_EQ(client->peer_name(), address);
            EXPECT_EQ(client->call(kTask, "Connect", "", milliseconds(2000)), "hello");
        }
        server.join();
    }
}

TEST_F(TtrpcConnect, AbstractSocket) {
    const std::string name = "@berth-ttrpc-test-" + std::to_string(::getpid());
    OwnedFd listener = listen_at(name);
    std::thread server = serve_once(listener.get());
    {
        auto client = Client::connect("unix://" + name, milliseconds(1000));
        EXPECT_EQ(client->call(kTask, "Connect", "", milliseconds(2000)), "hello");
    }
    server.join();
}

TEST_F(TtrpcConnect, FullBacklogTimesOut) {
    const std::string path = (dir_ / "busy.sock").string();
    OwnedFd listener = listen_at(path, 0);
    // Fill the backlog of a listener that never accepts.
    std::vector<OwnedFd> waiting;
    bool full = false;
    for (int i = 0; i < 64 && !full; ++i) {
        OwnedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, path.data(), path.size());
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
            full = errno == EAGAIN;
        }
        waiting.push_back(std::move(fd));
    }
    ASSERT_TRUE(full);
    const auto start = Clock::now();
    try {
        Client::connect(path, milliseconds(150));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Timeout);
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    const long waited = elapsed_ms(start);
    EXPECT_GE(waited, 150);
    EXPECT_LT(waited, 1500);
}

// --- the generated shim API -------------------------------------------------

TEST(ShimProto, CreateTaskRequestRoundTrip) {
    containerd::task::v2::CreateTaskRequest request;
    request.set_id("c1");
    request.set_bundle("/run/berth/vm/c1");
    auto* mount = request.add_rootfs();
    mount->set_type("overlay");
    mount->set_source("overlay");
    mount->add_options("lowerdir=/a:/b");
    mount->add_options("upperdir=/u");
    request.set_terminal(true);
    request.set_stdout("/run/berth/vm/c1/stdout");
    containerd::runc::v1::Options options;
    options.set_binary_name("kata-runtime");
    options.set_systemd_cgroup(true);
    request.mutable_options()->PackFrom(options);

    containerd::task::v2::CreateTaskRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(request.SerializeAsString()));
    EXPECT_EQ(parsed.id(), "c1");
    EXPECT_EQ(parsed.bundle(), "/run/berth/vm/c1");
    ASSERT_EQ(parsed.rootfs_size(), 1);
    EXPECT_EQ(parsed.rootfs(0).type(), "overlay");
    ASSERT_EQ(parsed.rootfs(0).options_size(), 2);
    EXPECT_EQ(parsed.rootfs(0).options(1), "upperdir=/u");
    EXPECT_TRUE(parsed.terminal());
    EXPECT_EQ(parsed.stdout(), "/run/berth/vm/c1/stdout");
    EXPECT_EQ(parsed.options().type_url(), "type.googleapis.com/containerd.runc.v1.Options");
    containerd::runc::v1::Options unpacked;
    ASSERT_TRUE(parsed.options().UnpackTo(&unpacked));
    EXPECT_EQ(unpacked.binary_name(), "kata-runtime");
    EXPECT_TRUE(unpacked.systemd_cgroup());
}

// Field numbers checked against bytes written by hand from containerd's protos.
TEST(ShimProto, FieldNumbersMatchContainerd) {
    containerd::task::v2::KillRequest kill;
    kill.set_id("c1");
    kill.set_signal(9);
    kill.set_all(true);
    EXPECT_EQ(kill.SerializeAsString(), bytes({0x0a, 2, 'c', '1', 0x18, 9, 0x20, 1}));

    containerd::task::v2::ConnectResponse connect;
    connect.set_shim_pid(10);
    connect.set_task_pid(11);
    connect.set_version("2");
    EXPECT_EQ(connect.SerializeAsString(), bytes({0x08, 10, 0x10, 11, 0x1a, 1, '2'}));

    containerd::task::v2::StateResponse state;
    state.set_status(containerd::v1::types::STOPPED);
    state.set_exit_status(137);
    state.set_exec_id("e");
    EXPECT_EQ(state.SerializeAsString(),
              bytes({0x20, 3, 0x48, 0x89, 0x01, 0x5a, 1, 'e'}));  // fields 4, 9, 11

    containerd::task::v2::WaitResponse wait;
    wait.set_exit_status(1);
    wait.mutable_exited_at()->set_seconds(5);
    EXPECT_EQ(wait.SerializeAsString(), bytes({0x08, 1, 0x12, 2, 0x08, 5}));

    containerd::task::v2::CreateTaskRequest create;
    create.set_parent_checkpoint("p");
    create.mutable_options()->set_type_url("t");
    EXPECT_EQ(create.SerializeAsString(), bytes({0x4a, 1, 'p', 0x52, 3, 0x0a, 1, 't'}));

    containerd::task::v2::ExecProcessRequest exec;
    exec.set_stderr("x");
    exec.mutable_spec()->set_value("{}");
    EXPECT_EQ(exec.SerializeAsString(), bytes({0x32, 1, 'x', 0x3a, 4, 0x12, 2, '{', '}'}));

    containerd::task::v2::ShutdownRequest shutdown;
    shutdown.set_now(true);
    EXPECT_EQ(shutdown.SerializeAsString(), bytes({0x10, 1}));

    containerd::runc::v1::Options options;
    options.set_io_gid(7);
    options.set_criu_work_path("w");
    EXPECT_EQ(options.SerializeAsString(), bytes({0x28, 7, 0x5a, 1, 'w'}));

    ttrpc::Response response;
    response.mutable_status()->set_code(5);
    response.set_payload("p");
    EXPECT_EQ(response.SerializeAsString(), bytes({0x0a, 2, 0x08, 5, 0x12, 1, 'p'}));

    EXPECT_EQ(containerd::v1::types::Status_Name(containerd::v1::types::PAUSING), "PAUSING");
    EXPECT_EQ(static_cast<int>(containerd::v1::types::PAUSING), 5);
    EXPECT_EQ(containerd::task::v2::CreateTaskRequest::descriptor()->full_name(),
              "containerd.task.v2.CreateTaskRequest");
}

}  // namespace

// berthd's side for shims' event publishers: the server answers each call
// through its handler, reports the handler's status, and survives peers that
// send garbage or vanish.
namespace {

std::string server_socket_path() {
    return (std::filesystem::temp_directory_path() /
            ("berth-ttrpc-server-" + std::to_string(::getpid()) + ".sock"))
        .string();
}

}  // namespace

TEST(TtrpcServer, AnswersCallsThroughItsHandler) {
    const auto path = server_socket_path();
    berth::oci::ttrpc::Server server(path, [](const std::string& service, const std::string& method,
                                              const std::string& payload) {
        if (method == "Fail")
            throw Error(Error::Kind::Status, "no such thing", 5);
        return service + "/" + method + ":" + payload;
    });
    auto client = Client::connect(path, milliseconds(2000));
    EXPECT_EQ(client->call("svc.Events", "Forward", "abc", milliseconds(2000)),
              "svc.Events/Forward:abc");
    try {
        client->call("svc.Events", "Fail", "", milliseconds(2000));
        FAIL() << "expected a status error";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), Error::Kind::Status);
        EXPECT_EQ(error.status_code(), 5);
        EXPECT_NE(std::string(error.what()).find("no such thing"), std::string::npos);
    }
    // Several clients at once, each on its own connection.
    auto second = Client::connect(path, milliseconds(2000));
    EXPECT_EQ(second->call("s", "m", "2", milliseconds(2000)), "s/m:2");
    EXPECT_EQ(client->call("s", "m", "1", milliseconds(2000)), "s/m:1");
}

TEST(TtrpcServer, GarbageOrAVanishingPeerLeavesItServing) {
    const auto path = server_socket_path();
    berth::oci::ttrpc::Server server(path, [](const std::string&, const std::string&,
                                              const std::string& payload) { return payload; });
    {
        // A header announcing 5 MiB: the server drops that connection.
        OwnedFd raw(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        ASSERT_EQ(::connect(raw.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        const unsigned char oversized[10] = {0x00, 0x50, 0x00, 0x00, 0, 0, 0, 1, 1, 0};
        ASSERT_EQ(::write(raw.get(), oversized, sizeof oversized), 10);
        char byte = 0;
        EXPECT_EQ(::read(raw.get(), &byte, 1), 0) << "the connection should have been closed";
    }
    {
        // A client that goes away in the middle of a frame.
        OwnedFd raw(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        ASSERT_EQ(::connect(raw.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        const unsigned char partial[4] = {0, 0, 0, 9};
        ASSERT_EQ(::write(raw.get(), partial, sizeof partial), 4);
    }
    auto client = Client::connect(path, milliseconds(2000));
    EXPECT_EQ(client->call("s", "m", "still here", milliseconds(2000)), "still here");
}

TEST(TtrpcServer, UnusablePathIsAnError) {
    EXPECT_THROW(berth::oci::ttrpc::Server("/nonexistent-berth-dir/events.sock",
                                           [](const std::string&, const std::string&,
                                              const std::string&) { return std::string(); }),
                 std::system_error);
}
