#include "vm/shim_connection.hpp"

#include <filesystem>
#include <fstream>

namespace berth::oci::vm {

namespace {

// google.rpc codes a shim answers with (containerd's errdefs mapping).
constexpr int kUnknown = 2;
constexpr int kNotFound = 5;
constexpr int kAlreadyExists = 6;
constexpr int kFailedPrecondition = 9;
constexpr int kUnimplemented = 12;

}  // namespace

ShimConnection::ShimConnection(std::string binary, std::string sandbox_id, std::string address,
                               std::chrono::seconds timeout)
    : binary_name_(std::filesystem::path(binary).filename().string()),
      sandbox_id_(std::move(sandbox_id)),
      address_(std::move(address)),
      timeout_(timeout) {
    try {
        client_ = ttrpc::Client::connect(address_, timeout_);
    } catch (const ttrpc::Error& error) {
        throw RuntimeError(RuntimeErrorKind::Unavailable,
                           "cannot reach " + describe() + " at " + address_ + ": " + error.what());
    }
}

std::string ShimConnection::describe() const {
    std::string text = "the VM runtime shim " + binary_name_;
    if (pid_ > 0)
        text += " (pid " + std::to_string(pid_) + ")";
    return text + " of pod " + sandbox_id_.substr(0, 12);
}

bool ShimConnection::process_alive() const {
    if (pid_ <= 0)
        return connected();
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string text;
    if (!std::getline(stat, text))
        return false;
    // "pid (comm) S ...": the state follows the last ')'.
    const auto close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z' &&
           text[close + 2] != 'X';
}

RuntimeError ShimConnection::translate(const ttrpc::Error& error, const char* method,
                                       std::chrono::milliseconds timeout) const {
    const std::string call = std::string("Task.") + method;
    switch (error.kind()) {
    case ttrpc::Error::Kind::Timeout:
        return RuntimeError(
            RuntimeErrorKind::DeadlineExceeded,
            describe() + " did not answer " + call + " within " +
                (timeout.count() % 1000 == 0 ? std::to_string(timeout.count() / 1000) + " s"
                                             : std::to_string(timeout.count()) + " ms") +
                ": it may be hung");
    case ttrpc::Error::Kind::Closed:
        return RuntimeError(RuntimeErrorKind::Unavailable,
                            describe() + " is gone (" + call + "): " + error.what());
    case ttrpc::Error::Kind::Protocol:
        return RuntimeError(RuntimeErrorKind::Internal,
                            describe() + " answered " + call + " wrongly: " + error.what());
    case ttrpc::Error::Kind::Status:
        break;
    }
    const std::string message = describe() + ": " + call + ": " + error.what();
    switch (error.status_code()) {
    case kNotFound:
        return RuntimeError(RuntimeErrorKind::NotFound, message);
    case kAlreadyExists:
    case kFailedPrecondition:
        return RuntimeError(RuntimeErrorKind::FailedPrecondition, message);
    case kUnimplemented:
        return RuntimeError(RuntimeErrorKind::Unimplemented, message);
    case kUnknown:
        // How a shim passes on the runtime's refusal (runc's own words).
        return RuntimeError(RuntimeErrorKind::CannotRun, message);
    default:
        return RuntimeError(RuntimeErrorKind::Internal, message);
    }
}

}  // namespace berth::oci::vm
