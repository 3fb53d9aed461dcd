// berthctl's verbs. Each registers its own subcommand and flags, one file
// per group of verbs, named as crictl names them.
#pragma once

#include <CLI/CLI.hpp>

#include "client.hpp"

namespace berth::ctl {

void add_version_command(CLI::App& app, const ClientOptions& options);
void add_info_command(CLI::App& app, const ClientOptions& options);
void add_pod_commands(CLI::App& app, const ClientOptions& options);
void add_image_commands(CLI::App& app, const ClientOptions& options);
void add_container_commands(CLI::App& app, const ClientOptions& options);
void add_event_commands(CLI::App& app, const ClientOptions& options);
void add_stats_commands(CLI::App& app, const ClientOptions& options);
void add_stream_commands(CLI::App& app, const ClientOptions& options);

// Thrown by a verb to end berthctl with exit status 1 and this message.
class CommandFailed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown by a verb to end berthctl with this exit status and no message
// (exec: the command's own exit code).
class ExitWithStatus : public std::runtime_error {
public:
    explicit ExitWithStatus(int status)
        : std::runtime_error("exit status " + std::to_string(status)), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

// Throws CommandFailed describing a failed call.
inline void check(const char* rpc, const grpc::Status& status, const Client& client) {
    if (!status.ok()) {
        throw CommandFailed(describe_failure(rpc, status, client.endpoint()));
    }
}

}  // namespace berth::ctl
