#include "vm/task.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "berth/oci/runtime_error.hpp"

namespace berth::oci::vm {

nlohmann::json to_json(const TaskRecord& record) {
    return {{"sandbox_id", record.sandbox_id},
            {"sandbox", record.sandbox},
            {"stdin", record.stdin},
            {"stdin_once", record.stdin_once},
            {"terminal", record.terminal},
            {"log_directory", record.log_directory},
            {"log_path", record.log_path},
            {"log_size_max", record.log_size_max},
            {"shim_address", record.shim_address},
            {"shim_pid", record.shim_pid},
            {"keeper_pid", record.keeper_pid}};
}

TaskRecord task_record_from_json(const nlohmann::json& json) {
    TaskRecord record;
    record.sandbox_id = json.at("sandbox_id").get<std::string>();
    record.sandbox = json.at("sandbox").get<bool>();
    record.stdin = json.at("stdin").get<bool>();
    record.stdin_once = json.at("stdin_once").get<bool>();
    record.terminal = json.at("terminal").get<bool>();
    record.log_path = json.at("log_path").get<std::string>();
    // Records written before the log directory was kept: the file's own
    // directory is the most that can be assumed.
    record.log_directory =
        json.value("log_directory", std::filesystem::path(record.log_path).parent_path().string());
    record.log_size_max = json.at("log_size_max").get<std::int64_t>();
    record.shim_address = json.at("shim_address").get<std::string>();
    record.shim_pid = json.at("shim_pid").get<int>();
    record.keeper_pid = json.at("keeper_pid").get<int>();
    return record;
}

void write_task_record(const std::string& directory, const TaskRecord& record) {
    // In <runroot>, which does not outlive a reboot, and neither do shims:
    // no fsync, only never a half-written file.
    const std::string path = directory + "/berth-task.json";
    const std::string temporary = path + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << to_json(record).dump();
        if (!out)
            throw RuntimeError(RuntimeErrorKind::Internal,
                               "writing " + temporary + ": " + std::strerror(errno));
    }
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error)
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "renaming " + temporary + ": " + error.message());
}

std::optional<TaskRecord> read_task_record(const std::string& directory) {
    try {
        std::ifstream in(directory + "/berth-task.json");
        if (!in)
            return std::nullopt;
        return task_record_from_json(nlohmann::json::parse(in));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace berth::oci::vm
