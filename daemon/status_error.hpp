// An error that knows which gRPC status it becomes. Code below the RPC
// handlers throws these; each handler turns them into its reply, so that a
// bad request is INVALID_ARGUMENT, an unknown id NOT_FOUND, and so on, with
// a message that names the RPC.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <grpcpp/grpcpp.h>

#include "berth/oci/runtime_error.hpp"
#include "berth/storage/storage_error.hpp"
#include "quoted_value.hpp"

namespace berth::daemon {

class StatusError : public std::runtime_error {
public:
    StatusError(grpc::StatusCode code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    grpc::StatusCode code() const { return code_; }

private:
    grpc::StatusCode code_;
};

inline StatusError invalid_argument(const std::string& message) {
    return {grpc::StatusCode::INVALID_ARGUMENT, message};
}
inline StatusError not_found(const std::string& message) {
    return {grpc::StatusCode::NOT_FOUND, message};
}
inline StatusError already_exists(const std::string& message) {
    return {grpc::StatusCode::ALREADY_EXISTS, message};
}
inline StatusError failed_precondition(const std::string& message) {
    return {grpc::StatusCode::FAILED_PRECONDITION, message};
}

// The message a status carries: gRPC sends it in a header, percent-encoded,
// and a client refuses headers beyond its limit (8 KiB by default), so a
// message is cut well below that whatever made it long.
inline std::string bounded_message(const char* rpc, std::string_view what) {
    constexpr std::size_t kLongest = 2048;
    std::string message = std::string(rpc) + ": ";
    if (what.size() <= kLongest)
        return message.append(what);
    return message.append(what.substr(0, kLongest)).append("... (message cut)");
}

inline grpc::StatusCode status_code(storage::ErrorKind kind) {
    using storage::ErrorKind;
    switch (kind) {
    case ErrorKind::InvalidArgument:
        return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorKind::NotFound:
        return grpc::StatusCode::NOT_FOUND;
    case ErrorKind::Unauthenticated:
        return grpc::StatusCode::UNAUTHENTICATED;
    case ErrorKind::PermissionDenied:
        return grpc::StatusCode::PERMISSION_DENIED;
    case ErrorKind::FailedPrecondition:
        return grpc::StatusCode::FAILED_PRECONDITION;
    case ErrorKind::Unavailable:
        return grpc::StatusCode::UNAVAILABLE;
    case ErrorKind::DataLoss:
        return grpc::StatusCode::DATA_LOSS;
    case ErrorKind::ResourceExhausted:
        return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ErrorKind::Internal:
        break;
    }
    return grpc::StatusCode::INTERNAL;
}

inline grpc::StatusCode status_code(oci::RuntimeErrorKind kind) {
    using oci::RuntimeErrorKind;
    switch (kind) {
    case RuntimeErrorKind::NotFound:
        return grpc::StatusCode::NOT_FOUND;
    case RuntimeErrorKind::FailedPrecondition:
        return grpc::StatusCode::FAILED_PRECONDITION;
    case RuntimeErrorKind::CannotRun:
        return grpc::StatusCode::UNKNOWN;  // as containerd reports a runtime's refusal
    case RuntimeErrorKind::Unimplemented:
        return grpc::StatusCode::UNIMPLEMENTED;
    case RuntimeErrorKind::DeadlineExceeded:
        return grpc::StatusCode::DEADLINE_EXCEEDED;
    case RuntimeErrorKind::Unavailable:
        return grpc::StatusCode::UNAVAILABLE;
    case RuntimeErrorKind::Internal:
        break;
    }
    return grpc::StatusCode::INTERNAL;
}

// Runs `body`, turning exceptions into a status whose message starts with
// the RPC's name. Anything that is not a StatusError is an internal error.
template <typename Body>
grpc::Status rpc_status(const char* rpc, Body&& body) {
    try {
        body();
        return grpc::Status::OK;
    } catch (const StatusError& error) {
        return {error.code(), bounded_message(rpc, error.what())};
    } catch (const oci::RuntimeError& error) {
        return {status_code(error.kind()), bounded_message(rpc, error.what())};
    } catch (const storage::StorageError& error) {
        return {status_code(error.kind()), bounded_message(rpc, error.what())};
    } catch (const std::system_error& error) {
        // A full disk is the node's problem to fix, not a bug of berthd's:
        // kubelet's image GC and eviction act on RESOURCE_EXHAUSTED.
        const bool full = error.code() == std::errc::no_space_on_device ||
                          error.code().value() == EDQUOT;
        return {full ? grpc::StatusCode::RESOURCE_EXHAUSTED : grpc::StatusCode::INTERNAL,
                bounded_message(rpc, error.what())};
    } catch (const std::exception& error) {
        return {grpc::StatusCode::INTERNAL, bounded_message(rpc, error.what())};
    }
}

}  // namespace berth::daemon
