#include "berth/oci/runtime_vm.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "berth/shim_api.hpp"
#include "ttrpc/server.hpp"
#include "vm/fifo_keeper.hpp"
#include "vm/shim_command.hpp"
#include "vm/task.hpp"
#include "vm/task_fifos.hpp"
#include "vm/vm_process_io.hpp"

namespace berth::oci {

namespace fs = std::filesystem;
namespace task_api = containerd::task::v2;
using vm::Pod;
using vm::Task;

namespace {

// containerd's namespace flag: shims keep their state below it (runc-v2:
// /run/containerd/runc/berth).
constexpr const char* kShimNamespace = "berth";
constexpr const char* kResourcesTypeUrl =
    "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
constexpr const char* kRuntimeOptionsTypeUrl = "runtimeoptions.v1.Options";
// How long the output of an exited process may take to reach the log.
constexpr std::chrono::seconds kOutputGrace{2};
constexpr std::uint64_t kShimLogMax = 1 << 20;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t to_ns(const google::protobuf::Timestamp& at) {
    if (at.seconds() == 0 && at.nanos() == 0)
        return now_ns();
    return at.seconds() * 1'000'000'000 + at.nanos();
}

std::string own_executable() {
    std::error_code error;
    const auto path = fs::read_symlink("/proc/self/exe", error);
    return error ? "berthd" : path.string();
}

std::string socket_path(const std::string& address) {
    constexpr std::string_view scheme = "unix://";
    return address.rfind(scheme, 0) == 0 ? address.substr(scheme.size()) : address;
}

// The pid still belongs to the shim that serves `sandbox_id` (pids are reused).
bool is_shim_of(pid_t pid, const std::string& sandbox_id) {
    if (pid <= 0)
        return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return cmdline.find(std::string("-id") + '\0' + sandbox_id + '\0') != std::string::npos;
}

void wait_until_gone(pid_t pid, const std::string& sandbox_id, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (is_shim_of(pid, sandbox_id) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

// The shim serving `sandbox_id` when its pid was never learnt (it did not
// answer Connect): found by its command line. 0 when none runs.
pid_t find_shim_of(const std::string& sandbox_id) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/proc", error)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        const pid_t pid = std::stoi(name);
        if (is_shim_of(pid, sandbox_id))
            return pid;
    }
    return 0;
}

void copy_spec(const std::string& bundle, const std::string& directory) {
    std::error_code error;
    fs::create_directories(directory, error);
    fs::copy_file(bundle + "/config.json", directory + "/config.json",
                  fs::copy_options::overwrite_existing, error);
    if (error)
        throw RuntimeError(RuntimeErrorKind::Internal, "copying " + bundle + "/config.json to " +
                                                           directory + ": " + error.message());
}

// The shim writes its own log to the fifo "log" in its working directory and
// does not start serving without a reader there; berthd keeps it in shim.log.
std::unique_ptr<vm::OutputRelay> open_shim_log(const std::string& directory) {
    const std::string fifo = directory + "/log";
    if (::mkfifo(fifo.c_str(), 0600) != 0 && errno != EEXIST)
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "creating " + fifo + ": " + std::strerror(errno));
    stream::OwnedFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd)
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "opening " + fifo + ": " + std::strerror(errno));
    return std::make_unique<vm::OutputRelay>(std::move(fd), stream::OwnedFd(), directory,
                                             "shim.log", kShimLogMax);
}

RuntimeStatus to_status(containerd::v1::types::Status status) {
    switch (status) {
    case containerd::v1::types::CREATED:
        return RuntimeStatus::Created;
    case containerd::v1::types::RUNNING:
        return RuntimeStatus::Running;
    case containerd::v1::types::STOPPED:
        return RuntimeStatus::Stopped;
    case containerd::v1::types::PAUSED:
    case containerd::v1::types::PAUSING:
        return RuntimeStatus::Paused;
    default:
        return RuntimeStatus::Unknown;
    }
}

}  // namespace

RuntimeVM::RuntimeVM(VmRuntimeOptions options)
    : options_(std::move(options)), timeout_(options_.handler.shim_timeout) {
    std::error_code ignored;
    fs::create_directories(options_.runroot + "/vm", ignored);
    try {
        events_ = std::make_unique<ttrpc::Server>(
            options_.runroot + "/vm/events-" + options_.handler_name + ".sock",
            [this](const std::string& service, const std::string& method,
                   const std::string& payload) { return on_event(service, method, payload); });
    } catch (const std::exception& error) {
        spdlog::warn(
            "runtime handler {}: no address for shim events ({}): OOM kills will be "
            "reported as plain exits",
            options_.handler_name, error.what());
    }
}

std::string RuntimeVM::on_event(const std::string& service, const std::string& method,
                                const std::string& payload) {
    if (service != "containerd.services.events.ttrpc.v1.Events" || method != "Forward")
        throw ttrpc::Error(ttrpc::Error::Kind::Status,
                           service + "/" + method + " is not served here",
                           12);  // UNIMPLEMENTED
    containerd::services::events::ttrpc::v1::ForwardRequest request;
    if (request.ParseFromString(payload) && request.envelope().topic() == "/tasks/oom") {
        containerd::events::TaskOOM oom;
        if (oom.ParseFromString(request.envelope().event().value()) &&
            oom.container_id().find('/') == std::string::npos && !oom.container_id().empty()) {
            // Read by berthd when it records the exit (ContainerStatus: OOMKilled).
            std::ofstream(oom_file(oom.container_id()));
            spdlog::info("container {}: OOM kill reported by its shim", oom.container_id());
        }
    }
    return google::protobuf::Empty().SerializeAsString();
}

std::string RuntimeVM::oom_file(const std::string& id) const {
    return task_directory(id) + "/oom";
}

RuntimeVM::~RuntimeVM() {
    shutting_down_ = true;
    std::lock_guard lock(mutex_);
    for (const auto& [id, pod] : pods_)
        pod->shim->close();
    for (const auto& [id, task] : tasks_)
        task->shim->close();
    for (const auto& [id, task] : tasks_) {
        if (task->waiter.joinable())
            task->waiter.join();
    }
    for (const auto& [id, pod] : pods_) {
        if (pod->waiter.joinable())
            pod->waiter.join();
    }
    for (auto& thread : orphaned_)
        thread.join();
}

std::string RuntimeVM::task_directory(const std::string& id) const {
    return options_.runroot + "/vm/" + id;
}

std::string RuntimeVM::exit_file(const std::string& id) const {
    return options_.runroot + "/exits/" + id;
}

vm::ShimCommand RuntimeVM::shim_command() const {
    return {options_.handler.runtime_path, kShimNamespace, options_.daemon_address,
            events_ ? events_->socket_path() : options_.daemon_address + ".ttrpc",
            own_executable()};
}

std::string RuntimeVM::runtime_options() const {
    if (options_.handler.runtime_config_path.empty())
        return "";
    runtimeoptions::v1::Options options;
    options.set_config_path(options_.handler.runtime_config_path);
    google::protobuf::Any any;
    any.set_type_url(kRuntimeOptionsTypeUrl);
    any.set_value(options.SerializeAsString());
    return any.SerializeAsString();
}

std::shared_ptr<Pod> RuntimeVM::pod(const std::string& sandbox_id) {
    {
        std::lock_guard lock(mutex_);
        if (const auto found = pods_.find(sandbox_id); found != pods_.end())
            return found->second;
        if (removing_.count(sandbox_id) != 0) {
            throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                               "pod " + sandbox_id + " is being removed");
        }
    }
    const std::string directory = task_directory(sandbox_id);
    const auto record = vm::read_task_record(directory);
    if (!record || !record->sandbox) {
        throw RuntimeError(
            RuntimeErrorKind::FailedPrecondition,
            "pod " + sandbox_id + " has no shim of runtime handler " + options_.handler_name);
    }
    auto pod = std::make_shared<Pod>();
    pod->id = sandbox_id;
    pod->directory = directory;
    pod->shim = std::make_shared<vm::ShimConnection>(options_.handler.runtime_path, sandbox_id,
                                                     record->shim_address, timeout_);
    pod->shim->set_pid(record->shim_pid);
    try {
        pod->shim_log = open_shim_log(directory);
    } catch (const std::exception& error) {
        spdlog::warn("pod {}: the shim's log: {}", sandbox_id, error.what());
    }
    std::lock_guard lock(mutex_);
    if (removing_.count(sandbox_id) != 0) {
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "pod " + sandbox_id + " is being removed");
    }
    return pods_.emplace(sandbox_id, std::move(pod)).first->second;
}

std::shared_ptr<Task> RuntimeVM::find_task(const std::string& id) {
    std::lock_guard lock(mutex_);
    const auto found = tasks_.find(id);
    return found == tasks_.end() ? nullptr : found->second;
}

std::shared_ptr<Task> RuntimeVM::task(const std::string& id) {
    auto found = find_task(id);
    if (!found) {
        throw RuntimeError(
            RuntimeErrorKind::NotFound,
            "container " + id + " is not running under runtime handler " + options_.handler_name);
    }
    return found;
}

std::shared_ptr<Task> RuntimeVM::open_task(const std::string& id, const vm::TaskRecord& record,
                                           std::shared_ptr<vm::ShimConnection> shim) {
    auto task = std::make_shared<Task>();
    task->id = id;
    task->directory = task_directory(id);
    task->record = record;
    task->shim = std::move(shim);
    auto fifos = vm::open_task_fifos(task->directory + "/", record.stdin, true, !record.terminal);
    task->relay = std::make_unique<vm::OutputRelay>(
        std::move(fifos.stdout_fd), std::move(fifos.stderr_fd), record.log_directory,
        record.log_path,
        record.log_size_max > 0 ? static_cast<std::uint64_t>(record.log_size_max) : 0);
    if (fifos.stdin_fd) {
        const int flags = ::fcntl(fifos.stdin_fd.get(), F_GETFL);
        ::fcntl(fifos.stdin_fd.get(), F_SETFL, flags | O_NONBLOCK);
        task->stdin_fd = std::move(fifos.stdin_fd);
    }
    task->stdin_path = fifos.stdin_path;
    task->stdout_path = fifos.stdout_path;
    task->stderr_path = fifos.stderr_path;
    return task;
}

int RuntimeVM::create(const CreateOptions& options) {
    const std::string directory = task_directory(options.id);
    copy_spec(options.bundle, directory);
    const auto pod = this->pod(options.sandbox_id);
    vm::TaskRecord record;
    record.sandbox_id = options.sandbox_id;
    record.stdin = options.stdin;
    record.stdin_once = options.stdin_once;
    record.terminal = options.terminal;
    record.log_directory = options.log_directory;
    record.log_path = options.log_path;
    record.log_size_max = options.log_size_max;
    auto task = open_task(options.id, record, pod->shim);
    if (!options_.fifo_keeper.empty()) {
        task->record.keeper_pid = vm::start_fifo_keeper(options_.fifo_keeper, options.id,
                                                        task->stdout_path, task->stderr_path);
    }
    // Written once, before the shim hears of the task: remove() finds the
    // keeper and the pod through it whatever fails from here.
    try {
        vm::write_task_record(directory, task->record);
    } catch (...) {
        vm::stop_fifo_keeper(task->record.keeper_pid, options.id);
        throw;
    }

    task_api::CreateTaskRequest request;
    request.set_id(options.id);
    request.set_bundle(directory);
    request.set_terminal(options.terminal);
    request.set_stdin(task->stdin_path);
    request.set_stdout(task->stdout_path);
    request.set_stderr(task->stderr_path);
    if (const auto any = runtime_options(); !any.empty())
        request.mutable_options()->ParseFromString(any);
    const auto response = pod->shim->call<task_api::CreateTaskResponse>("Create", request);
    {
        std::lock_guard lock(mutex_);
        tasks_[options.id] = task;
    }
    watch_exit(task);
    return static_cast<int>(response.pid());
}

void RuntimeVM::watch_exit(const std::shared_ptr<Task>& task) {
    task->waiter = std::thread([this, task] {
        task_api::WaitRequest request;
        request.set_id(task->id);
        int code = 255;
        std::int64_t exited_at = now_ns();
        std::string reason;
        std::string message;
        try {
            const auto response = task->shim->call<task_api::WaitResponse>(
                "Wait", request, std::chrono::milliseconds(0));
            code = static_cast<int>(response.exit_status());
            exited_at = to_ns(response.exited_at());
        } catch (const RuntimeError& error) {
            if (shutting_down_)
                return;  // berthd is going: the shim goes on, and so does the container
            {
                std::lock_guard lock(task->mutex);
                if (task->removed)
                    return;
            }
            reason = "Error";
            if (error.kind() == RuntimeErrorKind::Unavailable) {
                // A dead shim's containers would run on as orphans: end them
                // the way containerd does, with the shim binary's `delete`.
                message = task->shim->describe() +
                          " died, so the container's exit status is unknown and it was killed";
                const auto trouble =
                    vm::delete_after_dead_shim(shim_command(), task->id, task->directory, timeout_);
                if (!trouble.empty())
                    message += " (cleaning up: " + trouble + ")";
            } else {
                message = error.what();
            }
            spdlog::warn("container {}: {}", task->id, message);
        }
        task->relay->finish(kOutputGrace);
        if (code == 128 + SIGKILL && reason.empty()) {
            // The shim publishes TaskOOM on its own path: give it a moment
            // to arrive before the exit is recorded without it.
            std::error_code ignored;
            for (int tries = 0; tries < 20 && !fs::exists(oom_file(task->id), ignored); ++tries)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        record_exit(task, code, exited_at, reason, message);
    });
}

void RuntimeVM::record_exit(const std::shared_ptr<Task>& task, int code, std::int64_t exited_at,
                            const std::string& reason, const std::string& message) {
    {
        std::lock_guard lock(task->mutex);
        if (task->removed)
            return;
    }
    write_exit_file(task->id, code, exited_at, reason, message);
    {
        std::lock_guard lock(task->mutex);
        task->exited = true;
    }
    task->changed.notify_all();
}

void RuntimeVM::write_exit_file(const std::string& id, int code, std::int64_t exited_at,
                                const std::string& reason, const std::string& message) {
    // As berth-conmon: a complete file renamed into place, its mtime the
    // moment of the exit.
    const std::string path = exit_file(id);
    const std::string temporary = options_.runroot + "/exits/." + id + ".vm";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << code;
        if (!reason.empty())
            out << '\n' << reason << '\n' << message;
    }
    const timespec times[2] = {{exited_at / 1'000'000'000, exited_at % 1'000'000'000},
                               {exited_at / 1'000'000'000, exited_at % 1'000'000'000}};
    ::utimensat(AT_FDCWD, temporary.c_str(), times, 0);
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error)
        spdlog::error("task {}: recording its exit in {}: {}", id, path, error.message());
}

void RuntimeVM::watch_sandbox_exit(const std::shared_ptr<Pod>& pod) {
    pod->waiter = std::thread([this, pod] {
        task_api::WaitRequest request;
        request.set_id(pod->id);
        int code = 255;
        std::int64_t exited_at = now_ns();
        std::string message;
        try {
            const auto response = pod->shim->call<task_api::WaitResponse>(
                "Wait", request, std::chrono::milliseconds(0));
            code = static_cast<int>(response.exit_status());
            exited_at = to_ns(response.exited_at());
        } catch (const RuntimeError& error) {
            message = error.what();
        }
        if (shutting_down_ || pod->removed || pod->stopping)
            return;
        spdlog::info("pod {}: its sandbox task ended ({}){}", pod->id, code,
                     message.empty() ? "" : ": " + message);
        write_exit_file(pod->id, code, exited_at, message.empty() ? "" : "Error", message);
    });
}

void RuntimeVM::start(const std::string& id) {
    task_api::StartRequest request;
    request.set_id(id);
    task(id)->shim->call<task_api::StartResponse>("Start", request);
}

void RuntimeVM::kill(const Task& task, int signal, bool all) {
    task_api::KillRequest request;
    request.set_id(task.id);
    request.set_signal(static_cast<std::uint32_t>(signal));
    request.set_all(all);
    try {
        task.shim->call<google::protobuf::Empty>("Kill", request);
    } catch (const RuntimeError& error) {
        // "process already finished": the exit is on its way.
        if (error.kind() != RuntimeErrorKind::NotFound)
            throw;
    }
}

bool RuntimeVM::wait_exited(Task& task, std::chrono::milliseconds timeout) {
    std::unique_lock lock(task.mutex);
    return task.changed.wait_for(lock, timeout, [&] { return task.exited; });
}

void RuntimeVM::stop(const std::string& id, int signal, std::chrono::seconds timeout) {
    const auto found = find_task(id);
    if (!found)
        return;  // nothing runs under this handler with that id
    {
        std::lock_guard lock(found->mutex);
        if (found->exited)
            return;
    }
    try {
        kill(*found, signal, false);
    } catch (const RuntimeError& error) {
        // A dead shim: its exit watcher is ending the container (the shim
        // binary's delete) and recording why.
        if (error.kind() != RuntimeErrorKind::Unavailable ||
            !wait_exited(*found, timeout_ + std::chrono::seconds(10)))
            throw;
        return;
    }
    if (wait_exited(*found, timeout))
        return;
    kill(*found, SIGKILL, true);
    if (!wait_exited(*found, std::chrono::seconds(10))) {
        throw RuntimeError(
            RuntimeErrorKind::DeadlineExceeded,
            "container " + id + " did not exit after SIGKILL from " + found->shim->describe());
    }
}

void RuntimeVM::signal(const std::string& id, int signal) {
    kill(*task(id), signal, false);
}

void RuntimeVM::remove(const std::string& id) {
    std::shared_ptr<Task> found;
    {
        std::lock_guard lock(mutex_);
        if (const auto entry = tasks_.find(id); entry != tasks_.end()) {
            found = entry->second;
            tasks_.erase(entry);
        }
    }
    const std::string directory = task_directory(id);
    std::shared_ptr<vm::ShimConnection> shim;
    const auto record = found ? std::optional(found->record) : vm::read_task_record(directory);
    if (found) {
        std::lock_guard lock(found->mutex);
        found->removed = true;
        shim = found->shim;
    } else if (record) {
        try {
            shim = pod(record->sandbox_id)->shim;
        } catch (const RuntimeError& error) {
            spdlog::warn("container {}: {}", id, error.what());
        }
    }
    bool deleted = false;
    if (shim) {
        task_api::DeleteRequest request;
        request.set_id(id);
        try {
            shim->call<task_api::DeleteResponse>("Delete", request);
            deleted = true;
        } catch (const RuntimeError& error) {
            deleted = error.kind() == RuntimeErrorKind::NotFound;
            if (!deleted)
                spdlog::warn("container {}: {}", id, error.what());
        }
    }
    std::error_code ignored;
    if (!deleted && fs::exists(directory + "/config.json", ignored)) {
        const auto trouble = vm::delete_after_dead_shim(shim_command(), id, directory, timeout_);
        if (!trouble.empty())
            spdlog::warn("container {}: {}", id, trouble);
    }
    if (found && found->waiter.joinable()) {
        std::unique_lock lock(found->mutex);
        const bool exited = found->exited;
        lock.unlock();
        if (exited || deleted) {
            found->waiter.join();
        } else {
            // Still in Task.Wait on a shim that does not answer: joined at
            // the end, when every connection is closed.
            std::lock_guard orphans(mutex_);
            orphaned_.push_back(std::move(found->waiter));
        }
    }
    if (record)
        vm::stop_fifo_keeper(record->keeper_pid, id);
    fs::remove_all(directory, ignored);
    fs::remove(exit_file(id), ignored);
}

ContainerState RuntimeVM::state(const std::string& id) {
    const auto found = find_task(id);
    if (!found)
        return {};
    task_api::StateRequest request;
    request.set_id(id);
    const auto response = found->shim->call<task_api::StateResponse>("State", request);
    return {to_status(response.status()), static_cast<int>(response.pid())};
}

void RuntimeVM::pause(const std::string& id) {
    task_api::PauseRequest request;
    request.set_id(id);
    task(id)->shim->call<google::protobuf::Empty>("Pause", request);
}

void RuntimeVM::unpause(const std::string& id) {
    task_api::ResumeRequest request;
    request.set_id(id);
    task(id)->shim->call<google::protobuf::Empty>("Resume", request);
}

void RuntimeVM::update_resources(const std::string& id, const nlohmann::json& resources) {
    task_api::UpdateTaskRequest request;
    request.set_id(id);
    // Shims decode OCI types from JSON, as containerd's typeurl registers them.
    request.mutable_resources()->set_type_url(kResourcesTypeUrl);
    request.mutable_resources()->set_value(resources.dump());
    task(id)->shim->call<google::protobuf::Empty>("Update", request);
}

void RuntimeVM::reopen_log(const std::string& id) {
    task(id)->relay->reopen_log();
}

bool RuntimeVM::monitor_alive(const std::string& id) {
    if (const auto found = find_task(id))
        return found->shim->process_alive();
    const auto record = vm::read_task_record(task_directory(id));
    if (!record)
        return false;
    try {
        return pod(record->sandbox_id)->shim->process_alive();
    } catch (const RuntimeError&) {
        return false;
    }
}

std::string RuntimeVM::reattach(const std::string& id) {
    if (find_task(id))
        return "";
    const std::string directory = task_directory(id);
    const auto record = vm::read_task_record(directory);
    if (!record)
        return "its VM runtime state (" + directory + ") is gone, so its exit is unknown";
    std::shared_ptr<Pod> pod;
    try {
        pod = this->pod(record->sandbox_id);
    } catch (const RuntimeError& error) {
        const auto trouble = vm::delete_after_dead_shim(shim_command(), id, directory, timeout_);
        return std::string(error.what()) + ", so the container's exit status is unknown" +
               (trouble.empty() ? "" : " (cleaning up: " + trouble + ")");
    }
    task_api::StateRequest request;
    request.set_id(id);
    task_api::StateResponse state;
    if (!pod->hung) {
        try {
            state = pod->shim->call<task_api::StateResponse>("State", request);
        } catch (const RuntimeError& error) {
            if (error.kind() != RuntimeErrorKind::DeadlineExceeded)
                return std::string(error.what()) + ", so the container's exit status is unknown";
            // Hung, maybe only for now: its Wait tells when the container ends.
            pod->hung = true;
        }
    }
    auto task = open_task(id, *record, pod->shim);
    {
        std::lock_guard lock(mutex_);
        tasks_[id] = task;
    }
    if (state.status() == containerd::v1::types::STOPPED) {
        // It ended while berthd was away: the shim still knows how.
        task->relay->finish(std::chrono::milliseconds(200));
        record_exit(task, static_cast<int>(state.exit_status()), to_ns(state.exited_at()), "", "");
    } else {
        watch_exit(task);
    }
    return "";
}

MonitorPaths RuntimeVM::monitor_paths(const std::string& id) const {
    // No attach socket or control fifo: attach and resize go through the shim.
    return {"", "", exit_file(id), oom_file(id)};
}

ExecSyncResult RuntimeVM::exec_sync(const std::string& id, const std::vector<std::string>& command,
                                    std::chrono::seconds timeout) {
    ExecOptions options;
    options.command = command;
    auto io = vm::start_exec(task(id), options);
    const InFlightCalls<vm::ExecIo>::Entry in_flight(exec_syncs_, io.get());
    const auto deadline = timeout.count() > 0 ? std::chrono::steady_clock::now() + timeout
                                              : std::chrono::steady_clock::time_point::max();
    constexpr std::size_t kMaxOutput = 16 << 20;  // per stream, as a probe never needs more
    ExecSyncResult result;
    while (auto chunk = io->read_output_until(deadline)) {
        std::string& target =
            chunk->stream == OutputStream::Stdout ? result.stdout_data : result.stderr_data;
        if (target.size() < kMaxOutput)
            target.append(chunk->data, 0, kMaxOutput - target.size());
    }
    std::optional<int> code;
    if (!io->timed_out())
        code = io->wait_until(deadline);
    if (io->timed_out()) {
        io->cancel();
        throw RuntimeError(RuntimeErrorKind::DeadlineExceeded,
                           "command timed out after " + std::to_string(timeout.count()) + " s");
    }
    result.exit_code = code.value_or(255);
    return result;
}

void RuntimeVM::abandon_calls() {
    // A shim runs on after berthd, and so would the command: nobody would
    // read its output or end it. One second per command at most: berthd is
    // past its grace already.
    exec_syncs_.for_each([](vm::ExecIo& io) { io.cancel_within(std::chrono::seconds(1)); });
}

void RuntimeVM::checkpoint(const std::string& id, const std::string&, bool, std::chrono::seconds) {
    throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                       "container " + id + " runs under the VM runtime handler " +
                           options_.handler_name + ", which berth cannot checkpoint");
}

std::unique_ptr<ProcessIo> RuntimeVM::exec(const std::string& id, const ExecOptions& options) {
    return vm::start_exec(task(id), options);
}

std::unique_ptr<ProcessIo> RuntimeVM::attach(const std::string& id, const AttachOptions& options) {
    return std::make_unique<vm::AttachIo>(task(id), options);
}

int RuntimeVM::start_sandbox(const SandboxOptions& options) {
    const std::string& id = options.id;
    const std::string directory = task_directory(id);
    copy_spec(options.bundle, directory);
    vm::TaskRecord record;
    record.sandbox_id = id;
    record.sandbox = true;
    vm::write_task_record(directory, record);

    auto pod = std::make_shared<Pod>();
    pod->id = id;
    pod->directory = directory;
    pod->shim_log = open_shim_log(directory);
    record.shim_address =
        vm::start_shim(shim_command(), id, directory, runtime_options(), timeout_);
    vm::write_task_record(directory, record);  // so that remove_sandbox finds its socket
    try {
        pod->shim = std::make_shared<vm::ShimConnection>(options_.handler.runtime_path, id,
                                                         record.shim_address, timeout_);
        task_api::ConnectRequest connect;
        connect.set_id(id);
        pod->shim->set_pid(static_cast<pid_t>(
            pod->shim->call<task_api::ConnectResponse>("Connect", connect).shim_pid()));
    } catch (const RuntimeError&) {
        // A shim that started but cannot be talked to must not run on.
        if (const pid_t pid = find_shim_of(id); pid > 0)
            ::kill(pid, SIGKILL);
        throw;
    }
    record.shim_pid = pod->shim->pid();
    vm::write_task_record(directory, record);
    {
        std::lock_guard lock(mutex_);
        pods_[id] = pod;
    }

    // From here remove_sandbox undoes everything.
    task_api::CreateTaskRequest create;
    create.set_id(id);
    create.set_bundle(directory);
    if (const auto any = runtime_options(); !any.empty())
        create.mutable_options()->ParseFromString(any);
    pod->shim->call<task_api::CreateTaskResponse>("Create", create);
    task_api::StartRequest start;
    start.set_id(id);
    const auto started = pod->shim->call<task_api::StartResponse>("Start", start);
    watch_sandbox_exit(pod);
    spdlog::info("pod {}: sandbox task started by {}", id, pod->shim->describe());
    return static_cast<int>(started.pid());
}

void RuntimeVM::stop_sandbox(const std::string& id) {
    try {
        const auto pod = this->pod(id);
        // Its end is asked for: no exit file to tell berthd the pod died.
        pod->stopping = true;
        task_api::KillRequest kill;
        kill.set_id(id);
        kill.set_signal(SIGKILL);
        kill.set_all(true);
        try {
            pod->shim->call<google::protobuf::Empty>("Kill", kill);
        } catch (const RuntimeError& error) {
            if (error.kind() != RuntimeErrorKind::NotFound)
                throw;
            return;
        }
        task_api::WaitRequest wait;
        wait.set_id(id);
        pod->shim->call<task_api::WaitResponse>("Wait", wait);
    } catch (const RuntimeError& error) {
        // The pod's processes are what stopping ends; a shim that is gone
        // or hung took them with it or is cleaned up at removal.
        spdlog::warn("pod {}: stopping the sandbox task: {}", id, error.what());
    }
}

void RuntimeVM::remove_sandbox(const std::string& id) {
    std::shared_ptr<Pod> pod;
    try {
        pod = this->pod(id);
    } catch (const RuntimeError& error) {
        spdlog::info("pod {}: {}", id, error.what());
    }
    {
        std::lock_guard lock(mutex_);
        pods_.erase(id);
        removing_.insert(id);
    }
    if (pod)
        pod->removed = true;
    const std::string directory = task_directory(id);
    const auto record = vm::read_task_record(directory);
    bool deleted = false;
    if (pod) {
        task_api::DeleteRequest remove;
        remove.set_id(id);
        try {
            pod->shim->call<task_api::DeleteResponse>("Delete", remove);
            deleted = true;
        } catch (const RuntimeError& error) {
            deleted = error.kind() == RuntimeErrorKind::NotFound;
            if (!deleted)
                spdlog::warn("pod {}: {}", id, error.what());
        }
        if (deleted) {
            // The shim exits once it serves no task.
            task_api::ShutdownRequest shutdown;
            shutdown.set_id(id);
            shutdown.set_now(true);
            try {
                pod->shim->call<google::protobuf::Empty>("Shutdown", shutdown,
                                                         std::chrono::milliseconds(2000));
            } catch (const RuntimeError&) {
                // Going away while answering is how a shim says yes.
            }
        }
        // Ends a Wait still pending on a shim that did not answer.
        pod->shim->close();
        std::thread waiter;
        {
            std::lock_guard lock(mutex_);
            waiter = std::move(pod->waiter);
        }
        if (waiter.joinable())
            waiter.join();
    }
    std::error_code ignored;
    if (!deleted && fs::exists(directory + "/config.json", ignored)) {
        const auto trouble = vm::delete_after_dead_shim(shim_command(), id, directory, timeout_);
        if (!trouble.empty())
            spdlog::warn("pod {}: {}", id, trouble);
    }
    pid_t shim_pid = pod ? pod->shim->pid() : (record ? record->shim_pid : 0);
    if (shim_pid <= 0)
        shim_pid = find_shim_of(id);
    wait_until_gone(shim_pid, id, std::chrono::seconds(2));
    if (is_shim_of(shim_pid, id)) {
        spdlog::warn("pod {}: its shim (pid {}) did not exit; killing it", id, shim_pid);
        ::kill(shim_pid, SIGKILL);
        wait_until_gone(shim_pid, id, std::chrono::seconds(2));
    }
    if (record && !record->shim_address.empty())
        fs::remove(socket_path(record->shim_address), ignored);
    if (pod)
        pod->shim_log.reset();
    fs::remove_all(directory, ignored);
    fs::remove(exit_file(id), ignored);
    std::lock_guard lock(mutex_);
    removing_.erase(id);
}

bool RuntimeVM::sandbox_alive(const std::string& id) {
    try {
        const auto found = pod(id);
        task_api::StateRequest request;
        request.set_id(id);
        bool running = false;
        try {
            running = found->shim->call<task_api::StateResponse>("State", request).status() ==
                      containerd::v1::types::RUNNING;
        } catch (const RuntimeError& error) {
            // A shim that does not answer is not asked again during this
            // restore: every container of the pod would wait as long.
            if (error.kind() == RuntimeErrorKind::DeadlineExceeded)
                found->hung = true;
            throw;
        }
        // After a restart (restore asks first): watch it again.
        std::lock_guard lock(mutex_);
        if (running && !found->waiter.joinable() && pods_.count(id) != 0)
            watch_sandbox_exit(found);
        return running;
    } catch (const RuntimeError& error) {
        spdlog::warn("pod {}: {}", id, error.what());
        return false;
    }
}

}  // namespace berth::oci
