// One pod's shim as berthd talks to it: the ttrpc connection and the calls
// of containerd's Task service, each bounded by the handler's shim_timeout so
// that a hung shim fails calls instead of holding the daemon up. Errors are
// RuntimeErrors whose messages name the shim.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "berth/oci/runtime_error.hpp"
#include "ttrpc/client.hpp"

namespace berth::oci::vm {

class ShimConnection {
public:
    // Connects to `address`. Throws RuntimeError(Unavailable) when nothing
    // answers there.
    ShimConnection(std::string binary, std::string sandbox_id, std::string address,
                   std::chrono::seconds timeout);

    // Task.<method> with the handler's timeout, or `timeout` when given (zero:
    // no limit, for Wait). Throws RuntimeError: DeadlineExceeded when the shim
    // does not answer in time, Unavailable when its connection is gone,
    // NotFound / FailedPrecondition / Internal from the shim's own status.
    template <typename Response, typename Request>
    Response call(const char* method, const Request& request,
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        try {
            return client_->call<Response>(kService, method, request, timeout.value_or(timeout_));
        } catch (const ttrpc::Error& error) {
            throw translate(error, method, timeout.value_or(timeout_));
        }
    }

    const std::string& address() const { return address_; }
    pid_t pid() const { return pid_; }
    void set_pid(pid_t pid) { pid_ = pid; }
    // "the VM runtime shim containerd-shim-runc-v2 (pid 1234) of pod 0123456789ab"
    std::string describe() const;
    // The shim's process still runs (a zombie does not count).
    bool process_alive() const;
    bool connected() const { return !client_->closed(); }
    // Ends the connection; calls waiting on it (Wait) fail with Unavailable.
    void close() { client_->close(); }
    std::chrono::milliseconds timeout() const { return timeout_; }

    static constexpr const char* kService = "containerd.task.v2.Task";

private:
    RuntimeError translate(const ttrpc::Error& error, const char* method,
                           std::chrono::milliseconds timeout) const;

    std::string binary_name_;
    std::string sandbox_id_;
    std::string address_;
    std::chrono::milliseconds timeout_;
    std::atomic<pid_t> pid_{0};
    std::unique_ptr<ttrpc::Client> client_;
};

}  // namespace berth::oci::vm
