#include "daemon.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "berth/config/serialize.hpp"
#include "berth/oci/runtime_oci.hpp"
#include "berth/storage/layer_unpack.hpp"
#include "berth/storage/layout.hpp"
#include "berth/version.hpp"
#include "config_holder.hpp"
#include "container/exit_watcher.hpp"
#include "default_runtime.hpp"
#include "grpc_connection_feeder.hpp"
#include "journal_stream.hpp"
#include "logging.hpp"
#include "memory/activity_interceptor.hpp"
#include "memory/idle_trimmer.hpp"
#include "memory/malloc_release.hpp"
#include "metrics/metrics_endpoint.hpp"
#include "metrics/rpc_interceptor.hpp"
#include "metrics/scrape.hpp"
#include "server/berth_image_service.hpp"
#include "server/image_service.hpp"
#include "server/runtime_service.hpp"
#include "server/server_state.hpp"
#include "shutdown_deadline.hpp"
#include "systemd_notifier.hpp"
#include "unix_listener.hpp"

namespace berth::daemon {

namespace fs = std::filesystem;

namespace {

// In-flight calls get this long to finish after SIGTERM; then they are
// cancelled so that systemd's stop never waits on a stuck client.
constexpr auto kShutdownGrace = std::chrono::seconds(10);
// What the teardown after the grace may take (components joining their
// threads) before berthd exits regardless (ShutdownDeadline).
constexpr auto kShutdownMargin = std::chrono::milliseconds(500);

sigset_t daemon_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

// Waits for one of `signals`, waking up to feed the watchdog when systemd
// asked for one. Returns the signal number.
int wait_for_signal(const sigset_t& signals, SystemdNotifier& notifier) {
    const auto period = SystemdNotifier::watchdog_period();
    for (;;) {
        int received = -1;
        if (period) {
            const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*period);
            const auto nanos =
                std::chrono::duration_cast<std::chrono::nanoseconds>(*period - seconds);
            timespec timeout{static_cast<time_t>(seconds.count()),
                             static_cast<long>(nanos.count())};
            received = sigtimedwait(&signals, nullptr, &timeout);
            if (received < 0 && errno == EAGAIN) {
                notifier.watchdog();
                continue;
            }
        } else {
            received = sigwaitinfo(&signals, nullptr);
        }
        if (received >= 0) {
            return received;
        }
        if (errno != EINTR) {
            spdlog::error("waiting for signals failed: {}", std::strerror(errno));
            return SIGTERM;
        }
    }
}

// SIGHUP: re-read the configuration files and apply what can change while
// running. Everything else keeps its value until the next restart, and the
// log says which keys those are.
void reload(const config::LoadOptions& options, ConfigHolder& holder, SystemdNotifier& notifier) {
    notifier.reloading();
    try {
        config::Config fresh = config::load(options);
        settle_default_runtime(fresh);
        config::Config running = *holder.current();
        const auto changed = config::changed_keys(running, fresh);
        for (const auto& key : changed) {
            if (key == "berth.log_level") {
                spdlog::info("reload: log_level {} -> {}", running.log_level, fresh.log_level);
                running.log_level = fresh.log_level;
                spdlog::set_level(parse_log_level(fresh.log_level));
            } else {
                spdlog::warn("reload: {} changed; it takes effect when berthd restarts", key);
            }
        }
        if (changed.empty()) {
            spdlog::info("reload: configuration unchanged");
        }
        holder.replace(std::move(running));
    } catch (const config::ConfigError& error) {
        spdlog::error("reload failed, keeping the running configuration: {}", error.what());
    }
    notifier.reloaded();
}

void prepare_directories(const config::Config& config) {
    for (const auto& dir : {config.root, config.runroot}) {
        // A directory berthd creates is traversable by the container
        // processes that bind-mount from it and listable by root only; one
        // that already exists keeps the mode its owner gave it.
        if (fs::create_directories(dir)) {
            fs::permissions(dir,
                            fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec,
                            fs::perm_options::replace);
        }
    }
    storage::Layout(config).create_directories();
}

UnixListener open_listener(const config::Config& config) {
    if (auto activated = UnixListener::from_socket_activation()) {
        spdlog::info("using the socket passed by systemd: {}", activated->path());
        return std::move(*activated);
    }
    return UnixListener::create(config.api.listen);
}

}  // namespace

int run_daemon(const config::LoadOptions& options) {
    // Before any thread exists, so that no thread has an arena of its own yet.
    memory::limit_malloc_arenas();
    config::Config initial;
    try {
        initial = config::load(options);
    } catch (const config::ConfigError& error) {
        // Before any logger exists: under systemd the journal reads a "<3>"
        // prefix on its stream as the error priority (SyslogLevelPrefix=).
        const bool journal = is_journal_stream(STDERR_FILENO, std::getenv("JOURNAL_STREAM"));
        std::fprintf(stderr, "%sberthd: %s\n", journal ? "<3>" : "", error.what());
        return 1;
    }
    setup_logging(initial);

    // Blocked before any thread exists, so that every thread inherits the mask
    // and only the main loop's sigwait receives them.
    const sigset_t signals = daemon_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    std::optional<UnixListener> listener;
    try {
        prepare_directories(initial);
        settle_default_runtime(initial);
        listener.emplace(open_listener(initial));
    } catch (const std::exception& error) {
        spdlog::critical("cannot start: {}", error.what());
        return 1;
    }

    std::string unpack_helper;
    try {
        unpack_helper = storage::find_unpack_helper();
    } catch (const std::exception& error) {
        spdlog::critical("cannot start: {}", error.what());
        return 1;
    }
    std::string conmon;
    try {
        conmon = oci::find_conmon(initial.runtime.conmon);
    } catch (const std::exception& error) {
        // Pods still work without it; containers fail with this message.
        spdlog::error("{}: containers cannot be created", error.what());
    }
    ConfigHolder holder(initial);
    // Declared before everything it bounds: destroyed last, it covers
    // their teardown too.
    std::optional<ShutdownDeadline> shutdown_deadline;
    // Before the state: streaming sessions report their end to it.
    memory::IdleTrimmer trimmer(memory::IdleTrimmer::kQuiet, memory::IdleTrimmer::kMaxInterval,
                                memory::release_free_heap);
    server::ServerState state(holder, unpack_helper, conmon);
    // Every image and pod on disk is known before the first request is served.
    try {
        state.images().open();
    } catch (const std::exception& error) {
        spdlog::critical("cannot start: the image store: {}", error.what());
        return 1;
    }
    state.sandboxes().restore();
    // Exits are watched before containers are restored, so that none that
    // happens during restore is missed (recording one twice is harmless).
    container::ExitWatcher exit_watcher(state.runtimes().exits_directory(),
                                        [&state](const std::string& id) {
                                            // A pod's id: its sandbox task (VM runtimes) ended.
                                            if (!state.sandboxes().on_task_exit(id))
                                                state.containers().on_exit(id);
                                        });
    state.containers().restore();
    state.streaming().set_session_ended_observer([&trimmer] { trimmer.activity(); });
    try {
        const auto& api = initial.api;
        state.streaming().start({api.stream_address, static_cast<int>(api.stream_port),
                                 api.stream_enable_tls, api.stream_tls_cert, api.stream_tls_key});
    } catch (const std::exception& error) {
        spdlog::critical("cannot start: {}", error.what());
        return 1;
    }
    // [berth.metrics]: no port unless enabled; one that cannot be had stops
    // the start, as the API socket does.
    std::optional<metrics::MetricsEndpoint> metrics_endpoint;
    if (initial.metrics.enable) {
        try {
            const metrics::ScrapeSources sources{&state.metrics(), &state.containers().store(),
                                                 &state.sandboxes().store(), &state.runtimes(),
                                                 &state.events()};
            metrics_endpoint.emplace(initial.metrics.address, initial.metrics.port,
                                     [sources] { return metrics::render_metrics(sources); });
            spdlog::info("serving metrics on http://{}/metrics", metrics_endpoint->endpoint());
        } catch (const std::exception& error) {
            spdlog::critical("cannot start: {}", error.what());
            return 1;
        }
    }
    server::CriRuntimeService runtime_service(state);
    server::CriImageService image_service(state);
    server::BerthImageService berth_image_service(state);

    grpc::ServerBuilder builder;
    builder.RegisterService(&runtime_service);
    builder.RegisterService(&image_service);
    builder.RegisterService(&berth_image_service);
    builder.SetMaxReceiveMessageSize(static_cast<int>(initial.api.grpc_max_recv_msg_size));
    builder.SetMaxSendMessageSize(static_cast<int>(initial.api.grpc_max_send_msg_size));
    auto interceptors = metrics::rpc_interceptors(state.metrics().rpcs);
    interceptors.push_back(std::make_unique<memory::ActivityInterceptorFactory>(trimmer));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
    if (!grpc_server) {
        spdlog::critical("cannot start: the gRPC server did not start");
        return 1;
    }
    GrpcConnectionFeeder feeder(listener->fd(), *grpc_server);

    SystemdNotifier notifier;
    spdlog::info("berthd {} serving the CRI API on {} (default runtime {})", kVersion,
                 listener->path(), initial.runtime.default_runtime);
    notifier.ready("serving the CRI API on " + listener->path());

    for (;;) {
        const int signal_number = wait_for_signal(signals, notifier);
        if (signal_number == SIGHUP) {
            reload(options, holder, notifier);
            continue;
        }
        spdlog::info("received {}, shutting down", strsignal(signal_number));
        break;
    }

    shutdown_deadline.emplace(std::chrono::steady_clock::now() + kShutdownGrace + kShutdownMargin);
    shutdown_deadline->set_before_exit([&state] { state.runtimes().abandon_calls(); });
    notifier.stopping();
    feeder.stop();
    listener->close();
    // Event streams would otherwise hold the shutdown for its whole grace.
    state.events().close();
    // Exec, attach and port-forward sessions end within the same grace, not
    // after the calls' one.
    std::thread streaming_stop([&state] { state.streaming().stop(); });
    grpc_server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
    // No call runs any more: nothing of theirs to end at the deadline.
    shutdown_deadline->set_before_exit({});
    streaming_stop.join();
    spdlog::info("berthd stopped");
    return 0;
}

}  // namespace berth::daemon
