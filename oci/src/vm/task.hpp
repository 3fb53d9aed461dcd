// What RuntimeVM keeps per pod and per container, and the record of each in
// <runroot>/vm/<id>/berth-task.json that a restarted berthd reads back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "berth/stream/owned_fd.hpp"
#include "vm/output_relay.hpp"
#include "vm/shim_connection.hpp"

namespace berth::oci::vm {

struct TaskRecord {
    std::string sandbox_id;
    bool sandbox = false;  // the pod's sandbox task
    bool stdin = false;
    bool stdin_once = false;
    bool terminal = false;
    std::string log_directory;  // log_path is opened beneath it
    std::string log_path;
    std::int64_t log_size_max = -1;
    // Sandbox tasks: the shim serving the pod.
    std::string shim_address;
    int shim_pid = 0;
    // Containers: the process holding the output fifos open (fifo_keeper.hpp).
    int keeper_pid = 0;
};

nlohmann::json to_json(const TaskRecord& record);
// Throws std::exception on a malformed record.
TaskRecord task_record_from_json(const nlohmann::json& json);
// Atomically (temp file + rename); throws RuntimeError(Internal).
void write_task_record(const std::string& directory, const TaskRecord& record);
// nullopt when there is none or it cannot be read.
std::optional<TaskRecord> read_task_record(const std::string& directory);

struct Pod {
    std::string id;
    std::string directory;
    std::shared_ptr<ShimConnection> shim;
    std::unique_ptr<OutputRelay> shim_log;  // the shim's own log, into <dir>/shim.log
    // Task.Wait on the sandbox task: its end (or the shim's) is the pod's.
    std::thread waiter;
    std::atomic<bool> removed{false};
    std::atomic<bool> stopping{false};  // StopPodSandbox ends it: not a death
    std::atomic<bool> hung{false};      // did not answer during restore
};

struct Task {
    std::string id;
    std::string directory;  // the bundle the shim was given
    TaskRecord record;
    std::shared_ptr<ShimConnection> shim;

    // The fifos as the shim was given them ("" where none).
    std::string stdin_path;
    std::string stdout_path;
    std::string stderr_path;

    std::mutex stdin_mutex;
    stream::OwnedFd stdin_fd;  // O_RDWR end of the stdin fifo, while open
    std::unique_ptr<OutputRelay> relay;
    std::thread waiter;  // Task.Wait, then the exit file

    std::mutex mutex;
    std::condition_variable changed;
    bool exited = false;   // the exit is recorded
    bool removed = false;  // no exit must be recorded any more
};

}  // namespace berth::oci::vm
