// The client of a gRPC call as PendingResults sees it: its deadline, and
// whether it cancelled or went away.
#pragma once

#include <grpcpp/grpcpp.h>

#include "pending_results.hpp"

namespace berth::daemon::server {

// `context` must outlive the Caller (it does: both live for the call).
inline Caller caller_of(grpc::ServerContext& context) {
    Caller caller;
    caller.deadline = context.deadline();  // max() without one
    caller.cancelled = [&context] { return context.IsCancelled(); };
    return caller;
}

}  // namespace berth::daemon::server
