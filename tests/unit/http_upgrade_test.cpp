// The client side of the HTTP/1.1 upgrade, and the TLS relay under https:
// response heads parsed strictly, upgrades against small servers running in
// the test on 127.0.0.1, TLS with a certificate made for the test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "berth/stream/http_upgrade_client.hpp"
#include "berth/stream/tls_relay.hpp"
#include "berth/stream/websocket_connection.hpp"
#include "berth/stream/websocket_handshake.hpp"
#include "temp_dir.hpp"

namespace berth::stream {
namespace {

using namespace std::chrono_literals;

// --- response heads ---------------------------------------------------------

TEST(HttpResponseHead, ParsesStatusReasonAndHeaders) {
    const std::string head =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "connection:Upgrade\r\n"
        "Sec-WebSocket-Protocol:  v5.channel.k8s.io \r\n"
        "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
        "x-stream-protocol-version: v3.channel.k8s.io\r\n"
        "Empty:\r\n"
        "\r\n";
    EXPECT_EQ(find_http_head_end(head), head.size());
    const HttpResponseHead parsed = parse_http_response_head(head);
    EXPECT_EQ(parsed.status, 101);
    EXPECT_EQ(parsed.reason, "Switching Protocols");
    EXPECT_EQ(parsed.headers.get("upgrade"), "websocket");
    EXPECT_EQ(parsed.headers.get("CONNECTION"), "Upgrade");
    EXPECT_EQ(parsed.headers.get("Sec-WebSocket-Protocol"), "v5.channel.k8s.io");
    EXPECT_EQ(parsed.headers.get_all("X-Stream-Protocol-Version"),
              (std::vector<std::string>{"v4.channel.k8s.io", "v3.channel.k8s.io"}));
    EXPECT_EQ(parsed.headers.get("Empty"), "");
    EXPECT_FALSE(parsed.headers.get("Missing"));
    EXPECT_TRUE(parsed.headers.get_all("Missing").empty());
    EXPECT_EQ(parsed.headers.entries().size(), 6u);
}

TEST(HttpResponseHead, AcceptsBareLineFeedsAndAnEmptyReason) {
    const HttpResponseHead parsed = parse_http_response_head("HTTP/1.0 403\nA: b\n\n");
    EXPECT_EQ(parsed.status, 403);
    EXPECT_EQ(parsed.reason, "");
    EXPECT_EQ(parsed.headers.get("a"), "b");
    EXPECT_EQ(parse_http_response_head("HTTP/1.1 200 \r\n\r\n").reason, "");
}

TEST(HttpResponseHead, FindsTheEndBeforeFollowingBytes) {
    const std::string data = "HTTP/1.1 101 OK\r\nA: b\r\n\r\n\x81\x05hello";
    EXPECT_EQ(find_http_head_end(data), data.find("\x81"));
    EXPECT_EQ(find_http_head_end("HTTP/1.1 101 OK\r\nA: b\r\n"), 0u);
    EXPECT_EQ(find_http_head_end(""), 0u);
}

void expect_rejected(const std::string& head, const std::string& why) {
    try {
        parse_http_response_head(head);
        ADD_FAILURE() << "accepted: " << head;
    } catch (const HttpUpgradeError& error) {
        EXPECT_NE(std::string(error.what()).find(why), std::string::npos)
            << error.what() << " (wanted: " << why << ")";
    }
}

TEST(HttpResponseHead, RejectsMalformedHeads) {
    expect_rejected("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
                    "incomplete (no empty line ends it)");
    expect_rejected("", "incomplete");
    expect_rejected("HTTP/2 101 Switching\r\n\r\n", "bad status line");
    expect_rejected("HTTP/1.1 10 Short\r\n\r\n", "bad status line");
    expect_rejected("HTTP/1.1 1O1 Letter\r\n\r\n", "bad status line");
    expect_rejected("HTTP/1.1  101 Two spaces\r\n\r\n", "bad status line");
    expect_rejected("HTTP/1.1 101x\r\n\r\n", "bad status line");
    expect_rejected("ICY 200 OK\r\n\r\n", "bad status line");
    expect_rejected("\r\nHTTP/1.1 101 OK\r\n\r\n", "bad status line");
    expect_rejected("HTTP/1.1 099 Low\r\n\r\n", "status code below 100");
    expect_rejected("HTTP/1.1 101 OK\r\nNoColon\r\n\r\n", "header field without a colon");
    expect_rejected("HTTP/1.1 101 OK\r\nName : value\r\n\r\n", "invalid header field name");
    expect_rejected("HTTP/1.1 101 OK\r\n: value\r\n\r\n", "invalid header field name");
    expect_rejected("HTTP/1.1 101 OK\r\nA: b\r\n  folded\r\n\r\n", "obsolete line folding");
    expect_rejected("HTTP/1.1 101 OK\r\nA: b\r\n\tfolded\r\n\r\n", "obsolete line folding");
    expect_rejected(std::string("HTTP/1.1 101 OK\r\nA: b\0c\r\n\r\n", 27),
                    "control character in header field A");
    expect_rejected("HTTP/1.1 101 OK\r\nA: b\rc\r\n\r\n", "control character");
}

TEST(HttpResponseHead, RejectsHeadsOverTheLimit) {
    std::string head = "HTTP/1.1 101 OK\r\n";
    while (head.size() <= kMaxHttpHeadSize)
        head += "X-Filler: " + std::string(100, 'f') + "\r\n";
    head += "\r\n";
    expect_rejected(head, "larger than 65536 bytes");
    EXPECT_NO_THROW(parse_http_response_head(head, 2 * kMaxHttpHeadSize));
}

// --- URLs -------------------------------------------------------------------

TEST(HttpUrl, ParsesSchemesHostsPortsAndTargets) {
    HttpUrl url = parse_http_url("http://127.0.0.1:10250/exec/abc?command=sh&stdin=1");
    EXPECT_FALSE(url.tls);
    EXPECT_EQ(url.host, "127.0.0.1");
    EXPECT_EQ(url.port, 10250);
    EXPECT_EQ(url.target, "/exec/abc?command=sh&stdin=1");
    EXPECT_EQ(url.authority(), "127.0.0.1:10250");

    url = parse_http_url("https://node.example");
    EXPECT_TRUE(url.tls);
    EXPECT_EQ(url.port, 443);
    EXPECT_EQ(url.target, "/");
    EXPECT_EQ(url.authority(), "node.example");

    url = parse_http_url("HTTPS://[::1]:8443?x=1#fragment");
    EXPECT_TRUE(url.tls);
    EXPECT_EQ(url.host, "::1");
    EXPECT_EQ(url.port, 8443);
    EXPECT_EQ(url.target, "/?x=1");
    EXPECT_EQ(url.authority(), "[::1]:8443");

    url = parse_http_url("ws://localhost/attach");
    EXPECT_FALSE(url.tls);
    EXPECT_EQ(url.port, 80);
    EXPECT_EQ(parse_http_url("wss://[fe80::1]/").authority(), "[fe80::1]");
}

TEST(HttpUrl, RejectsBadUrls) {
    for (const char* bad :
         {"127.0.0.1:80/x", "ftp://host/", "http://", "http://:80/", "http://host:0/",
          "http://host:65536/", "http://host:12a/", "http://::1/", "http://[::1/",
          "http://[127.0.0.1]/", "http://user@host/", "http://host/with space", "http://[::1]x/"}) {
        EXPECT_THROW(parse_http_url(bad), HttpUpgradeError) << bad;
    }
}

// --- in-test servers ---------------------------------------------------------

std::string read_until(int fd, std::string_view terminator) {
    std::string data;
    std::array<char, 4096> buffer;
    while (data.find(terminator) == std::string::npos) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 5000) <= 0)
            break;
        const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (got <= 0)
            break;
        data.append(buffer.data(), static_cast<std::size_t>(got));
    }
    return data;
}

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (sent <= 0)
            return;
        data.remove_prefix(static_cast<std::size_t>(sent));
    }
}

// Reads until EOF (or 5 s of silence).
std::string read_to_end(int fd) {
    std::string data;
    std::array<char, 65536> buffer;
    for (;;) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 5000) <= 0)
            return data;
        const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (got <= 0)
            return data;
        data.append(buffer.data(), static_cast<std::size_t>(got));
    }
}

// Accepts connections on 127.0.0.1 and runs `handler` on each, one at a
// time, on its own thread; with a TLS context it first wraps the connection
// in a server-side relay and hands the handler the plain end.
class TestServer {
public:
    using Handler = std::function<void(OwnedFd)>;

    explicit TestServer(Handler handler, SSL_CTX* tls = nullptr)
        : handler_(std::move(handler)), tls_(tls) {
        listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
        EXPECT_EQ(::listen(listener_.get(), 8), 0);
        EXPECT_EQ(::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length),
                  0);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~TestServer() {
        ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
        thread_.join();
    }

    std::string url(const std::string& scheme, const std::string& target,
                    const std::string& host = "127.0.0.1") const {
        return scheme + "://" + host + ":" + std::to_string(port_) + target;
    }
    std::string tls_error() const {
        std::lock_guard lock(mutex_);
        return tls_error_;
    }

private:
    void serve() {
        for (;;) {
            OwnedFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!connection)
                return;
            if (tls_ == nullptr) {
                handler_(std::move(connection));
                continue;
            }
            TlsRelayOptions options;
            options.role = TlsRole::Server;
            options.handshake_timeout = 5s;
            auto relay = TlsRelay::start(std::move(connection), tls_, options);
            if (!relay->wait_handshake()) {
                std::lock_guard lock(mutex_);
                tls_error_ = relay->error();
                continue;
            }
            handler_(relay->take_plain_fd());
        }
    }

    Handler handler_;
    SSL_CTX* tls_;
    OwnedFd listener_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::string tls_error_;
};

constexpr std::string_view kSwitching =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: SPDY/3.1\r\n"
    "Connection: Upgrade\r\n"
    "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
    "X-Multi: one\r\n"
    "x-multi: two\r\n"
    "\r\n";

// Answers 101 with some stream bytes right behind the head (so they arrive
// with it), then echoes everything until EOF, then says goodbye and closes.
struct EchoServer {
    std::mutex mutex;
    std::string request;

    TestServer::Handler handler() {
        return [this](OwnedFd fd) {
            const std::string head = read_until(fd.get(), "\r\n\r\n");
            {
                std::lock_guard lock(mutex);
                request = head;
            }
            write_all(fd.get(), std::string(kSwitching) + "early-bytes");
            std::array<char, 65536> buffer;
            for (;;) {
                const ssize_t got = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
                if (got <= 0)
                    break;
                write_all(fd.get(), std::string_view(buffer.data(), static_cast<std::size_t>(got)));
            }
            write_all(fd.get(), "goodbye");
        };
    }
    std::string received_request() {
        std::lock_guard lock(mutex);
        return request;
    }
};

HttpUpgradeRequest spdy_request(const std::string& url) {
    HttpUpgradeRequest request;
    request.url = url;
    request.method = "POST";
    request.headers = {{"Connection", "Upgrade"},
                       {"Upgrade", "SPDY/3.1"},
                       {"X-Stream-Protocol-Version", "v4.channel.k8s.io"},
                       {"X-Stream-Protocol-Version", "v3.channel.k8s.io"}};
    request.timeout = 5s;
    return request;
}

// The upgraded stream as the echo server drives it: leftover first, then
// an echo of what we send, then "goodbye" after our half-close.
void exercise_echo(HttpUpgradeResponse& response) {
    EXPECT_EQ(response.status, 101);
    EXPECT_EQ(response.reason, "Switching Protocols");
    EXPECT_EQ(response.headers.get("upgrade"), "SPDY/3.1");
    EXPECT_EQ(response.headers.get_all("X-Multi"), (std::vector<std::string>{"one", "two"}));
    // The server sent the bytes with the head; all or part may be leftover.
    std::string received = response.leftover;
    if (received != "early-bytes") {
        received += read_until(response.fd.get(), "bytes");
    }
    EXPECT_EQ(received, "early-bytes");

    write_all(response.fd.get(), "echo me");
    EXPECT_EQ(read_until(response.fd.get(), "echo me"), "echo me");

    std::string big(300 * 1024, '\0');
    std::mt19937 random(3);
    for (auto& c : big)
        c = static_cast<char>(random());
    auto reader = std::async(std::launch::async, [&] { return read_to_end(response.fd.get()); });
    write_all(response.fd.get(), big);
    // Half-close: the server sees EOF, yet its answer still reaches us.
    ::shutdown(response.fd.get(), SHUT_WR);
    EXPECT_EQ(reader.get(), big + "goodbye");
}

TEST(HttpUpgrade, UpgradesAndHandsOverTheStreamWithLeftoverBytes) {
    EchoServer echo;
    TestServer server(echo.handler());
    HttpUpgradeResponse response = http_upgrade(spdy_request(server.url("http", "/exec/1?tty=1")));
    exercise_echo(response);

    const std::string request = echo.received_request();
    EXPECT_EQ(request.rfind("POST /exec/1?tty=1 HTTP/1.1\r\n", 0), 0u) << request;
    EXPECT_NE(
        request.find("\r\nHost: " + parse_http_url(server.url("http", "/")).authority() + "\r\n"),
        std::string::npos)
        << request;
    EXPECT_NE(request.find("\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
                           "X-Stream-Protocol-Version: v3.channel.k8s.io\r\n"),
              std::string::npos)
        << request;
    EXPECT_EQ(request.substr(request.size() - 4), "\r\n\r\n");
}

TEST(HttpUpgrade, ARefusalIsReturnedWithItsBody) {
    TestServer server([](OwnedFd fd) {
        read_until(fd.get(), "\r\n\r\n");
        write_all(fd.get(),
                  "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nContent-Type: text/plain\r\n\r\n"
                  "denied");
    });
    HttpUpgradeResponse response = http_upgrade(spdy_request(server.url("http", "/")));
    EXPECT_EQ(response.status, 403);
    EXPECT_EQ(response.reason, "Forbidden");
    EXPECT_EQ(response.leftover + read_to_end(response.fd.get()), "denied");
}

TEST(HttpUpgrade, WebSocketEndToEnd) {
    std::mutex mutex;
    std::string server_error;
    TestServer server([&](OwnedFd fd) {
        const std::string head = read_until(fd.get(), "\r\n\r\n");
        const std::string marker = "Sec-WebSocket-Key: ";
        const std::size_t at = head.find(marker);
        const std::string key = head.substr(at + marker.size(), 24);
        // The first frame goes out in the same write as the head: the client
        // must take it from the leftover bytes.
        write_all(fd.get(),
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                      websocket_accept_key(key) +
                      "\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n" +
                      encode_websocket_frame(WebSocketOpcode::Text, "welcome"));
        WebSocketConnection connection(std::move(fd), WebSocketRole::Server);
        while (auto message = connection.read_message()) {
            connection.send(message->opcode, message->payload);
        }
        std::lock_guard lock(mutex);
        server_error = connection.error();
    });

    const std::string key = make_websocket_key();
    HttpUpgradeRequest request;
    request.url = server.url("ws", "/attach");
    request.headers = {{"Connection", "Upgrade"},
                       {"Upgrade", "websocket"},
                       {"Sec-WebSocket-Version", "13"},
                       {"Sec-WebSocket-Key", key},
                       {"Sec-WebSocket-Protocol", "v5.channel.k8s.io, v4.channel.k8s.io"}};
    HttpUpgradeResponse response = http_upgrade(request);
    ASSERT_EQ(response.status, 101);
    EXPECT_EQ(response.headers.get("Sec-WebSocket-Accept"), websocket_accept_key(key));
    EXPECT_EQ(response.headers.get("Sec-WebSocket-Protocol"), "v5.channel.k8s.io");
    {
        WebSocketConnection client(std::move(response.fd), WebSocketRole::Client,
                                   std::move(response.leftover));
        auto welcome = client.read_message();
        ASSERT_TRUE(welcome);
        EXPECT_EQ(welcome->payload, "welcome");
        ASSERT_TRUE(client.send_binary("\x01stdin data"));
        auto echoed = client.read_message();
        ASSERT_TRUE(echoed);
        EXPECT_EQ(echoed->payload, "\x01stdin data");
        client.close(close_code::kNormal, "done");
        EXPECT_EQ(client.error(), "");
    }
    std::this_thread::sleep_for(50ms);
    std::lock_guard lock(mutex);
    EXPECT_EQ(server_error, "");
}

TEST(HttpUpgrade, TimesOutOnASilentServer) {
    TestServer server([](OwnedFd fd) { read_to_end(fd.get()); });
    HttpUpgradeRequest request = spdy_request(server.url("http", "/"));
    request.timeout = 300ms;
    const auto started = std::chrono::steady_clock::now();
    try {
        http_upgrade(request);
        ADD_FAILURE() << "no timeout";
    } catch (const HttpUpgradeError& error) {
        EXPECT_STREQ(error.what(), "timed out waiting for the response head");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(HttpUpgrade, ReportsRefusedConnectionsAndEarlyClose) {
    int port = 0;
    {
        TestServer server([](OwnedFd) {});
        port = parse_http_url(server.url("http", "/")).port;
    }
    try {
        http_upgrade(spdy_request("http://127.0.0.1:" + std::to_string(port) + "/"));
        ADD_FAILURE() << "connected to a closed port";
    } catch (const HttpUpgradeError& error) {
        EXPECT_NE(std::string(error.what()).find("cannot connect to 127.0.0.1:"), std::string::npos)
            << error.what();
    }

    TestServer hang_up([](OwnedFd fd) {
        read_until(fd.get(), "\r\n\r\n");
        write_all(fd.get(), "HTTP/1.1 101 Swi");
    });
    try {
        http_upgrade(spdy_request(hang_up.url("http", "/")));
        ADD_FAILURE() << "accepted half a head";
    } catch (const HttpUpgradeError& error) {
        EXPECT_STREQ(error.what(),
                     "connection closed before the end of the response head (16 bytes received)");
    }
}

TEST(HttpUpgrade, RefusesAnOversizedHead) {
    TestServer server([](OwnedFd fd) {
        read_until(fd.get(), "\r\n\r\n");
        std::string head = "HTTP/1.1 101 OK\r\n";
        for (int i = 0; i < 2000; ++i)
            head += "X-Filler: " + std::string(60, 'f') + "\r\n";
        write_all(fd.get(), head);
    });
    try {
        http_upgrade(spdy_request(server.url("http", "/")));
        ADD_FAILURE() << "accepted an endless head";
    } catch (const HttpUpgradeError& error) {
        EXPECT_STREQ(error.what(), "HTTP response head larger than 65536 bytes");
    }
}

TEST(HttpUpgrade, RefusesHeaderInjection) {
    HttpUpgradeRequest request = spdy_request("http://127.0.0.1:1/");
    request.headers.emplace_back("X-Evil", "a\r\nInjected: yes");
    EXPECT_THROW(http_upgrade(request), HttpUpgradeError);
}

// --- TLS ----------------------------------------------------------------------

// Self-signed certificates made once for the suite with the openssl tool.
class HttpUpgradeTls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new test::TempDir();
        make_certificate("server", "subjectAltName=DNS:localhost,IP:127.0.0.1");
        make_certificate("other", "subjectAltName=DNS:localhost,IP:127.0.0.1");
        make_certificate("elsewhere", "subjectAltName=IP:127.0.0.2");
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    static void make_certificate(const std::string& name, const std::string& alt_names) {
        const std::string command =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
            "-subj /CN=berth-test-" +
            name + " -addext " + alt_names + " -keyout " + key(name) + " -out " + cert(name) +
            " 2>/dev/null";
        ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
    static std::string cert(const std::string& name) { return *dir_ / (name + ".crt"); }
    static std::string key(const std::string& name) { return *dir_ / (name + ".key"); }

    static test::TempDir* dir_;
};
test::TempDir* HttpUpgradeTls::dir_ = nullptr;

TEST_F(HttpUpgradeTls, VerifiedWithTheCertificateAsCa) {
    const SslCtxPtr ctx = make_server_ssl_ctx(cert("server"), key("server"));
    EchoServer echo;
    TestServer server(echo.handler(), ctx.get());
    for (const std::string host : {"127.0.0.1", "localhost"}) {
        HttpUpgradeRequest request = spdy_request(server.url("https", "/exec", host));
        request.tls.ca_file = cert("server");
        HttpUpgradeResponse response = http_upgrade(request);
        ASSERT_NE(response.tls_relay, nullptr);
        exercise_echo(response);
        EXPECT_EQ(echo.received_request().rfind("POST /exec HTTP/1.1\r\n", 0), 0u);
    }
}

TEST_F(HttpUpgradeTls, InsecureSkipsVerification) {
    const SslCtxPtr ctx = make_server_ssl_ctx(cert("server"), key("server"));
    EchoServer echo;
    TestServer server(echo.handler(), ctx.get());
    HttpUpgradeRequest request = spdy_request(server.url("https", "/"));
    request.tls.insecure = true;
    HttpUpgradeResponse response = http_upgrade(request);
    exercise_echo(response);
}

TEST_F(HttpUpgradeTls, WrongCaIsAClearError) {
    const SslCtxPtr ctx = make_server_ssl_ctx(cert("server"), key("server"));
    EchoServer echo;
    TestServer server(echo.handler(), ctx.get());
    HttpUpgradeRequest request = spdy_request(server.url("https", "/"));
    request.tls.ca_file = cert("other");
    try {
        http_upgrade(request);
        ADD_FAILURE() << "trusted a certificate from another CA";
    } catch (const HttpUpgradeError& error) {
        const std::string what = error.what();
        EXPECT_NE(what.find("TLS handshake failed: certificate verification failed: "
                            "self-signed certificate"),
                  std::string::npos)
            << what;
        EXPECT_EQ(what.rfind("127.0.0.1:", 0), 0u) << what;
    }
}

TEST_F(HttpUpgradeTls, CertificateForAnotherAddressIsRefused) {
    const SslCtxPtr ctx = make_server_ssl_ctx(cert("elsewhere"), key("elsewhere"));
    EchoServer echo;
    TestServer server(echo.handler(), ctx.get());
    HttpUpgradeRequest request = spdy_request(server.url("https", "/"));
    request.tls.ca_file = cert("elsewhere");
    try {
        http_upgrade(request);
        ADD_FAILURE() << "accepted a certificate for 127.0.0.2";
    } catch (const HttpUpgradeError& error) {
        EXPECT_NE(std::string(error.what()).find("IP address mismatch"), std::string::npos)
            << error.what();
    }
}

TEST_F(HttpUpgradeTls, PlainHttpToATlsServerFailsCleanly) {
    const SslCtxPtr ctx = make_server_ssl_ctx(cert("server"), key("server"));
    EchoServer echo;
    TestServer server(echo.handler(), ctx.get());
    HttpUpgradeRequest request = spdy_request(server.url("http", "/"));
    EXPECT_THROW(http_upgrade(request), HttpUpgradeError);
    // The server's thread records its failure just after dropping the connection.
    for (int i = 0; i < 200 && server.tls_error().empty(); ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_NE(server.tls_error().find("TLS handshake failed"), std::string::npos)
        << server.tls_error();
}

TEST_F(HttpUpgradeTls, ContextHelpersNameTheBadFile) {
    try {
        make_server_ssl_ctx(*dir_ / "missing.crt", key("server"));
        ADD_FAILURE();
    } catch (const TlsError& error) {
        EXPECT_NE(std::string(error.what())
                      .find("cannot load the TLS certificate " + (*dir_ / "missing.crt")),
                  std::string::npos)
            << error.what();
    }
    try {
        make_server_ssl_ctx(cert("server"), key("other"));
        ADD_FAILURE();
    } catch (const TlsError& error) {
        EXPECT_NE(std::string(error.what()).find("does not belong to the certificate"),
                  std::string::npos)
            << error.what();
    }
    TlsClientConfig config;
    config.ca_file = *dir_ / "missing-ca.crt";
    EXPECT_THROW(make_client_ssl_ctx(config), TlsError);
}

// The relay on its own: both ends in this test, half-closes crossing it both
// ways, and a detached server relay that cleans up after itself.
TEST_F(HttpUpgradeTls, RelayCarriesHalfClosesBothWays) {
    const SslCtxPtr server_ctx = make_server_ssl_ctx(cert("server"), key("server"));
    TlsClientConfig config;
    config.ca_file = cert("server");
    const SslCtxPtr client_ctx = make_client_ssl_ctx(config);

    std::array<int, 2> pair{};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()), 0);
    TlsRelayOptions options;
    options.role = TlsRole::Server;
    auto server_relay = TlsRelay::start(OwnedFd(pair[1]), server_ctx.get(), options);
    OwnedFd server_plain = server_relay->take_plain_fd();
    auto server_side = std::async(std::launch::async, [&] {
        // Reads the client's data to its EOF, then answers and closes.
        std::string got = read_to_end(server_plain.get());
        write_all(server_plain.get(), "answer after your EOF");
        server_plain.reset();
        return got;
    });
    TlsRelay::detach(std::move(server_relay));

    TlsClientConnection client = tls_connect(OwnedFd(pair[0]), client_ctx.get(), "localhost", 5s);
    write_all(client.plain.get(), "request");
    ::shutdown(client.plain.get(), SHUT_WR);
    EXPECT_EQ(server_side.get(), "request");
    EXPECT_EQ(read_to_end(client.plain.get()), "answer after your EOF");
    // The detached relay ended on its own, and the client's relay followed.
    for (int i = 0; i < 100 && !client.relay->finished(); ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(client.relay->finished());
    EXPECT_EQ(client.relay->error(), "");
}

TEST_F(HttpUpgradeTls, DestroyingTheRelayStillDeliversWhatWasWritten) {
    const SslCtxPtr server_ctx = make_server_ssl_ctx(cert("server"), key("server"));
    const SslCtxPtr client_ctx =
        make_client_ssl_ctx(TlsClientConfig{cert("server"), false, "", ""});
    std::array<int, 2> pair{};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()), 0);
    TlsRelayOptions options;
    options.role = TlsRole::Server;
    auto server_relay = TlsRelay::start(OwnedFd(pair[1]), server_ctx.get(), options);
    OwnedFd server_plain = server_relay->take_plain_fd();
    auto received = std::async(std::launch::async, [&] { return read_to_end(server_plain.get()); });

    std::string data(200 * 1024, '\0');
    std::mt19937 random(5);
    for (auto& c : data)
        c = static_cast<char>(random());
    {
        TlsClientConnection client = tls_connect(OwnedFd(pair[0]), client_ctx.get(), "", 5s);
        // More than the socket pair buffers: most of it is still in the
        // relay's path when the connection object goes away.
        auto writer = std::async(std::launch::async, [&] { write_all(client.plain.get(), data); });
        writer.get();
    }
    const std::string got = received.get();
    EXPECT_EQ(got.size(), data.size());
    EXPECT_TRUE(got == data);
}

TEST_F(HttpUpgradeTls, HandshakeTimesOutAgainstASilentPeer) {
    const SslCtxPtr client_ctx = make_client_ssl_ctx(TlsClientConfig{"", true, "", ""});
    std::array<int, 2> pair{};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()), 0);
    OwnedFd silent(pair[1]);
    try {
        tls_connect(OwnedFd(pair[0]), client_ctx.get(), "", 200ms);
        ADD_FAILURE();
    } catch (const TlsError& error) {
        EXPECT_STREQ(error.what(), "TLS handshake timed out after 200 ms");
    }
}

TEST_F(HttpUpgradeTls, WebSocketMebibyteOverTls) {
    const SslCtxPtr ctx = make_server_ssl_ctx(cert("server"), key("server"));
    TestServer server(
        [](OwnedFd fd) {
            const std::string head = read_until(fd.get(), "\r\n\r\n");
            const std::size_t at = head.find("Sec-WebSocket-Key: ");
            write_all(fd.get(), "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " +
                                    websocket_accept_key(head.substr(at + 19, 24)) + "\r\n\r\n");
            WebSocketConnection connection(std::move(fd), WebSocketRole::Server);
            while (auto message = connection.read_message()) {
                connection.send(message->opcode, message->payload);
            }
        },
        ctx.get());
    HttpUpgradeRequest request;
    request.url = server.url("wss", "/");
    const std::string key = make_websocket_key();
    request.headers = {
        {"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Key", key}};
    request.tls.ca_file = cert("server");
    HttpUpgradeResponse response = http_upgrade(request);
    ASSERT_EQ(response.status, 101);
    EXPECT_EQ(response.headers.get("sec-websocket-accept"), websocket_accept_key(key));

    WebSocketConnection client(std::move(response.fd), WebSocketRole::Client,
                               std::move(response.leftover));
    std::string payload(1 << 20, '\0');
    std::mt19937 random(9);
    for (auto& c : payload)
        c = static_cast<char>(random());
    auto echoed = std::async(std::launch::async, [&] { return client.read_message(); });
    ASSERT_TRUE(client.send_binary(payload));
    auto message = echoed.get();
    ASSERT_TRUE(message);
    EXPECT_TRUE(message->payload == payload);
    client.close();
    EXPECT_EQ(client.error(), "");
}

}  // namespace
}  // namespace berth::stream
