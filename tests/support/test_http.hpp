// One plain HTTP/1.0 exchange with 127.0.0.1:PORT for tests of berthd's
// HTTP endpoints: the request line given, the whole answer read and split.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

namespace berth::test {

struct HttpAnswer {
    int status = 0;                              // 0 when nothing (parsable) came back
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::string raw;
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
// closed), for a daemon told to listen there.
inline int free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    const bool bound = fd >= 0 &&
                       ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    if (fd >= 0)
        ::close(fd);
    return bound ? ntohs(address.sin_port) : 0;
}

// `request_line` as "GET /metrics HTTP/1.0"; waits at most 10 s.
inline HttpAnswer http_exchange(int port, const std::string& request_line) {
    HttpAnswer answer;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return answer;
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        return answer;
    }
    const std::string request = request_line + "\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
        ::close(fd);
        return answer;
    }
    char buffer[65536];
    ssize_t got = 0;
    while ((got = ::recv(fd, buffer, sizeof(buffer), 0)) > 0)
        answer.raw.append(buffer, static_cast<std::size_t>(got));
    ::close(fd);
    const auto head_end = answer.raw.find("\r\n\r\n");
    if (answer.raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos)
        return answer;
    answer.status = std::atoi(answer.raw.substr(9, 3).c_str());
    answer.body = answer.raw.substr(head_end + 4);
    std::size_t line_start = answer.raw.find("\r\n") + 2;
    while (line_start < head_end) {
        const auto line_end = answer.raw.find("\r\n", line_start);
        const std::string line = answer.raw.substr(line_start, line_end - line_start);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            answer.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
        }
        line_start = line_end + 2;
    }
    return answer;
}

}  // namespace berth::test
