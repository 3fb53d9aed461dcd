// Per-RPC request counts and latencies, labelled by service, method and
// gRPC code; fed by the server interceptor (rpc_interceptor.hpp).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "metrics/exposition.hpp"

namespace berth::daemon::metrics {

class RpcMetrics {
public:
    // `full_method` as gRPC names it: "/runtime.v1.RuntimeService/Version".
    void record(const std::string& full_method, const std::string& code, double seconds);
    void write(TextWriter& out) const;

    // Upper bounds of the latency buckets, in seconds.
    static const std::vector<double>& latency_buckets();

private:
    using Key = std::tuple<std::string, std::string, std::string>;  // service, method, code
    mutable std::mutex mutex_;
    std::map<Key, Histogram> calls_;
};

// The canonical name of a gRPC status code ("OK", "NOT_FOUND", ...).
std::string code_name(int code);

}  // namespace berth::daemon::metrics
