// Errors of a container runtime, with the kind of failure so that the daemon
// maps them to gRPC codes without this library knowing gRPC.
#pragma once

#include <stdexcept>
#include <string>

namespace berth::oci {

enum class RuntimeErrorKind {
    NotFound,            // the runtime does not know the container
    FailedPrecondition,  // wrong state (start twice, not running, ...)
    CannotRun,           // the runtime refused to create or start it (bad spec, missing binary)
    Unimplemented,       // an operation this runtime does not offer yet
    DeadlineExceeded,    // a stop or exec that outlived its timeout, a shim that did not answer
    Unavailable,         // what runs the container is gone (a VM runtime's shim died)
    Internal,
};

class RuntimeError : public std::runtime_error {
public:
    RuntimeError(RuntimeErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    RuntimeErrorKind kind() const { return kind_; }

private:
    RuntimeErrorKind kind_;
};

}  // namespace berth::oci
