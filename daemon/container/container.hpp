// One container as Berth keeps it: in memory and, durably, as
// <root>/containers/<id>/container.json beside its OCI bundle (config.json).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "berth/cri_api.hpp"
#include "container/process_user.hpp"
#include "record_store.hpp"

namespace berth::daemon::container {

enum class ContainerState {
    // CreateContainer has not finished (never shown, cleaned at restore), or
    // it finished for a caller that had gone (unclaimed_request set): never
    // shown either, kept for a retry of the same request.
    Creating,
    Created,
    Running,
    Exited,
};

struct Container {
    std::string id;
    std::string name;  // k8s_<name>_<pod>_<namespace>_<uid>_<attempt>
    std::string sandbox_id;
    std::string runtime_handler;
    runtime::v1::ContainerConfig config;
    std::string image_id;     // "sha256:<config digest>"
    std::string image_ref;    // a repo digest when the image has one, else the id
    std::string stop_signal;  // the config's, else the image's; empty = SIGTERM
    ContainerState state = ContainerState::Creating;
    std::int64_t created_at = 0;  // ns since the epoch
    std::int64_t started_at = 0;
    std::int64_t finished_at = 0;
    int exit_code = 0;
    std::string reason;  // Completed, Error, OOMKilled, ContainerCannotRun
    std::string message;
    int pid = 0;
    std::string log_path;  // the CRI log file
    std::string bundle;    // directory holding config.json
    std::string rootfs;    // the overlay mount point
    // Who its process was started as (the spec's process.user); absent in
    // records written before it was kept.
    std::optional<ProcessUser> user;
    // The fingerprint of the CreateContainer request whose result this is,
    // while nobody has received it (see PendingResults); empty once it was
    // answered.
    std::string unclaimed_request;
};

const char* to_string(ContainerState state);
runtime::v1::ContainerState to_cri(ContainerState state);

nlohmann::json to_json(const Container& container);
// Throws std::runtime_error on a malformed record.
void from_json(const nlohmann::json& json, Container& container);

// k8s_<name>_<pod name>_<pod namespace>_<pod uid>_<attempt>, CRI-O's form.
std::string container_name(const runtime::v1::ContainerMetadata& metadata,
                           const runtime::v1::PodSandboxMetadata& pod);

}  // namespace berth::daemon::container

namespace berth::daemon {

template <>
struct RecordTraits<container::Container> {
    static constexpr const char* kind = "container";
    static constexpr const char* noun = "container";
    static constexpr const char* file = "container.json";
};

namespace container {
using ContainerStore = RecordStore<Container>;
}  // namespace container

}  // namespace berth::daemon
