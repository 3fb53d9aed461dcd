// Errors of the image store and the registry client, with the kind of failure
// so that the daemon can turn them into the right gRPC status without this
// library knowing about gRPC.
#pragma once

#include <stdexcept>
#include <string>

namespace berth::storage {

enum class ErrorKind {
    InvalidArgument,     // the request itself is wrong (a bad reference, a bad path)
    NotFound,            // no such image, tag, manifest or blob
    Unauthenticated,     // the registry wants credentials we do not have
    PermissionDenied,    // the registry refused the credentials we sent
    FailedPrecondition,  // the image is in use, the host lacks something
    Unavailable,         // the registry cannot be reached or timed out
    DataLoss,            // content did not match its digest or size
    ResourceExhausted,   // the disk (or its quota) is full
    Internal,            // anything else: a local I/O error, a bug
};

class StorageError : public std::runtime_error {
public:
    StorageError(ErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

private:
    ErrorKind kind_;
};

// A local I/O failure: "<context>: <errno text>", ResourceExhausted when the
// disk or its quota is full (ENOSPC, EDQUOT), else Internal.
StorageError io_error(const std::string& context, int error_number);

}  // namespace berth::storage
