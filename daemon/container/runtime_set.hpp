// One RuntimeImpl per configured runtime handler, built at start. The rest
// of the daemon asks for a handler by name and never learns which kind of
// runtime it got.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "berth/config/config.hpp"
#include "berth/oci/runtime_impl.hpp"

namespace berth::daemon::container {

class RuntimeSet {
public:
    // `conmon` is berth-conmon's path ("" when it could not be found: OCI
    // handlers then fail at create with a message saying so).
    RuntimeSet(const config::Config& config, std::string conmon);

    // Throws StatusError: NOT_FOUND for an unknown handler,
    // FAILED_PRECONDITION for one that cannot work on this host (no
    // berth-conmon, a runtime_root too long for socket paths).
    oci::RuntimeImpl& get(const std::string& handler) const;
    // The handler's runtime, or nullptr when it is unknown or unusable.
    oci::RuntimeImpl* find(const std::string& handler) const;
    std::string exits_directory() const { return exits_directory_; }
    // berthd exits with calls in flight: every runtime ends what they
    // started (RuntimeImpl::abandon_calls).
    void abandon_calls() const;

private:
    std::map<std::string, std::unique_ptr<oci::RuntimeImpl>> runtimes_;
    std::map<std::string, std::pair<grpc::StatusCode, std::string>> unavailable_;  // handler -> why
    std::string exits_directory_;
};

}  // namespace berth::daemon::container
