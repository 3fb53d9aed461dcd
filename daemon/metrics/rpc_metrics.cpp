#include "metrics/rpc_metrics.hpp"

#include <array>

namespace berth::daemon::metrics {

const std::vector<double>& RpcMetrics::latency_buckets() {
    // From a status call (well under a millisecond) to a pull or a stop with
    // a long grace period.
    static const std::vector<double> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                0.05,   0.1,   0.25,   0.5,   1,    2.5,
                                                5,      10,    30,     60,    120,  300};
    return buckets;
}

std::string code_name(int code) {
    static const std::array<const char*, 17> names = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (code >= 0 && static_cast<std::size_t>(code) < names.size())
        return names[static_cast<std::size_t>(code)];
    return "CODE_" + std::to_string(code);
}

void RpcMetrics::record(const std::string& full_method, const std::string& code, double seconds) {
    // "/runtime.v1.RuntimeService/Version" -> service, method.
    const auto slash = full_method.rfind('/');
    std::string service = "unknown";
    std::string method = full_method;
    if (slash != std::string::npos) {
        service = full_method.substr(full_method.front() == '/' ? 1 : 0,
                                     slash - (full_method.front() == '/' ? 1 : 0));
        method = full_method.substr(slash + 1);
    }
    std::lock_guard lock(mutex_);
    auto it = calls_.find({service, method, code});
    if (it == calls_.end())
        it = calls_.emplace(Key{service, method, code}, Histogram(latency_buckets())).first;
    it->second.observe(seconds);
}

void RpcMetrics::write(TextWriter& out) const {
    std::lock_guard lock(mutex_);
    out.family("berth_grpc_requests_total", "counter",
               "gRPC requests served, by service, method and status code.");
    for (const auto& [key, histogram] : calls_) {
        const auto& [service, method, code] = key;
        out.sample("berth_grpc_requests_total",
                   {{"service", service}, {"method", method}, {"code", code}},
                   static_cast<double>(histogram.count));
    }
    out.family("berth_grpc_request_duration_seconds", "histogram",
               "Time from a gRPC request's arrival to its status, by service, method and "
               "status code (streams: their whole life).");
    for (const auto& [key, histogram] : calls_) {
        const auto& [service, method, code] = key;
        out.histogram("berth_grpc_request_duration_seconds",
                      {{"service", service}, {"method", method}, {"code", code}}, histogram);
    }
}

}  // namespace berth::daemon::metrics
