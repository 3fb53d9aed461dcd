// The effective configuration of berthd: defaults, then /etc/berth/berth.conf,
// then drop-ins, then command-line flags. Every path Berth touches is here so
// that tests can run a whole daemon inside a temporary directory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace berth::config {

enum class RuntimeType { Oci, Vm };
enum class CgroupManager { Cgroupfs, Systemd };
enum class LogTarget { Stderr, Journald };
enum class ImageVolumes { Mkdir, Bind, Ignore };

// One entry of [berth.runtime.runtimes.NAME]: a CRI runtime handler.
struct RuntimeHandler {
    std::string runtime_path;  // runc/crun binary, or the shim v2 binary for "vm"
    RuntimeType runtime_type = RuntimeType::Oci;
    std::string runtime_root;         // state directory passed as --root to the OCI runtime
    std::string runtime_config_path;  // optional, handed to VM runtimes
    // VM handlers: seconds a shim may take to answer one request before the
    // call fails (DEADLINE_EXCEEDED) instead of holding the daemon up.
    std::int64_t shim_timeout = 60;
    bool privileged_without_host_devices = false;
};

struct ApiConfig {
    std::string listen;  // empty until resolved: then <runroot>/berth.sock
    std::string stream_address = "127.0.0.1";
    std::int64_t stream_port = 0;  // 0: an ephemeral port chosen at start
    // https for the streaming server, with these PEM files.
    bool stream_enable_tls = false;
    std::string stream_tls_cert;
    std::string stream_tls_key;
    std::int64_t grpc_max_send_msg_size = 16 * 1024 * 1024;
    std::int64_t grpc_max_recv_msg_size = 16 * 1024 * 1024;
    // Container events that may wait for one GetContainerEvents client
    // before it is disconnected.
    std::int64_t events_queue_size = 1000;
    // Seconds the result of a RunPodSandbox or CreateContainer whose caller
    // gave up waits for an identical retry before it is undone: kubelet
    // retries within its sync period (seconds), and two minutes covers a
    // berthd restart in between.
    std::int64_t unclaimed_result_timeout = 120;
};

struct RuntimeConfig {
    // Built in: crun where it is installed, else runc; berthd falls back to
    // runc at start when crun cannot run containers on the host. A value
    // set in a file is kept as it is.
    std::string default_runtime = "runc";
    bool default_runtime_chosen = false;  // set by a configuration file
    std::string conmon;                   // empty: berth-conmon beside berthd, else from PATH
    CgroupManager cgroup_manager = CgroupManager::Cgroupfs;
    std::int64_t log_size_max = -1;  // bytes per container log; -1 = unlimited
    std::vector<std::string> default_capabilities;
    std::vector<std::string> default_sysctls;  // "name=value"
    std::int64_t pids_limit = -1;              // -1 = unlimited
    // RuntimeDefault seccomp for containers that name no profile (CRI-O's
    // key of the same name); off: they run unconfined, as the CRI says.
    bool seccomp_use_default_when_empty = false;
    // Where Container Device Interface specs are read; a later directory
    // wins over an earlier one on a device both define.
    std::vector<std::string> cdi_spec_dirs;
    std::map<std::string, RuntimeHandler> runtimes;
};

struct ImageConfig {
    std::string default_transport = "docker://";
    std::vector<std::string> insecure_registries;
    std::map<std::string, std::vector<std::string>> mirrors;  // registry host -> endpoints
    std::vector<std::string> unqualified_search_registries;
    // Images kubelet's image GC must keep (reported `pinned`): exact names,
    // "prefix*" globs or "*keyword*", as CRI-O's pinned_images.
    std::vector<std::string> pinned_images;
    ImageVolumes image_volumes = ImageVolumes::Mkdir;
};

struct NetworkConfig {
    std::string network_dir = "/etc/cni/net.d";
    std::vector<std::string> plugin_dirs;
};

struct MetricsConfig {
    bool enable = false;
    std::string address = "127.0.0.1";
    std::int64_t port = 9090;
};

struct Config {
    std::string root = "/var/lib/berth";
    std::string runroot = "/run/berth";
    std::string log_dir = "/var/log/berth/pods";
    std::string log_level = "info";
    LogTarget log_target = LogTarget::Stderr;

    ApiConfig api;
    RuntimeConfig runtime;
    ImageConfig image;
    NetworkConfig network;
    MetricsConfig metrics;
};

// The built-in defaults: what berthd uses with no configuration file at all.
// Runtime handlers "runc" and "crun" are present when their binaries are found.
Config default_config();

const char* to_string(RuntimeType type);
const char* to_string(CgroupManager manager);
const char* to_string(LogTarget target);
const char* to_string(ImageVolumes mode);

}  // namespace berth::config
