// The Prometheus endpoint ([berth.metrics]): GET /metrics over plain HTTP,
// served by libmicrohttpd on a thread of its own. The listening socket is
// made here, so that a port already in use fails berthd's start with the
// kernel's reason and the address, rather than libmicrohttpd's silence.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

struct MHD_Daemon;

namespace berth::daemon::metrics {

class MetricsEndpoint {
public:
    // Listens on address:port (an IP address or a host name; port 0 picks
    // a free one) and answers GET /metrics with render(). Throws
    // std::runtime_error naming the address when it cannot listen there.
    MetricsEndpoint(const std::string& address, std::int64_t port,
                    std::function<std::string()> render);
    ~MetricsEndpoint();
    MetricsEndpoint(const MetricsEndpoint&) = delete;
    MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

    // "127.0.0.1:9090", "[::1]:9090": the address actually bound.
    const std::string& endpoint() const { return endpoint_; }
    std::uint16_t port() const { return port_; }

    // For libmicrohttpd's callback only.
    std::string render() const { return render_(); }

private:
    std::function<std::string()> render_;
    MHD_Daemon* daemon_ = nullptr;
    std::string endpoint_;
    std::uint16_t port_ = 0;
};

}  // namespace berth::daemon::metrics
