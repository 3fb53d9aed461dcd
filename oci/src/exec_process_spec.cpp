#include "exec_process_spec.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "berth/oci/runtime_error.hpp"

namespace berth::oci {

nlohmann::json exec_process_json(const std::string& bundle, const std::vector<std::string>& command,
                                 bool terminal) {
    nlohmann::json process;
    try {
        std::ifstream spec_file(bundle + "/config.json");
        process = nlohmann::json::parse(spec_file).at("process");
    } catch (const std::exception& error) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "reading the process spec in " + bundle + ": " + error.what());
    }
    process["args"] = command;
    process["terminal"] = terminal;
    // The size comes from the client's first resize, not from the container.
    process.erase("consoleSize");
    return process;
}

ExecProcessSpec::ExecProcessSpec(const std::string& bundle, const std::string& directory,
                                 const std::vector<std::string>& command, bool terminal) {
    const nlohmann::json process = exec_process_json(bundle, command, terminal);

    std::string base = directory + "/exec-XXXXXX";
    const int fd = ::mkstemp(base.data());
    if (fd < 0) {
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "exec spec in " + directory + ": " + std::strerror(errno));
    }
    ::close(fd);
    spec_path_ = base;
    pid_path_ = base + ".pid";
    std::ofstream out(spec_path_, std::ios::trunc);
    out << process.dump();
    out.close();
    if (!out) {
        std::filesystem::remove(spec_path_);
        throw RuntimeError(RuntimeErrorKind::Internal, "writing " + spec_path_);
    }
}

ExecProcessSpec::~ExecProcessSpec() {
    std::error_code ignored;
    std::filesystem::remove(spec_path_, ignored);
    std::filesystem::remove(pid_path_, ignored);
}

pid_t ExecProcessSpec::command_pid() const {
    std::ifstream in(pid_path_);
    pid_t pid = 0;
    if (in >> pid && pid > 0)
        return pid;
    return 0;
}

}  // namespace berth::oci
