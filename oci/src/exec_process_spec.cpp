#include "exec_process_spec.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
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
    spec_path_ = base;
    pid_path_ = base + ".pid";
    // Written through the descriptor mkstemp returned: reopening the file
    // with O_TRUNC would make ext4 (auto_da_alloc) flush it to the disk when
    // it is closed, on every exec.
    const std::string text = process.dump();
    FILE* out = ::fdopen(fd, "w");
    bool written = false;
    if (out == nullptr) {
        ::close(fd);
    } else {
        written = std::fwrite(text.data(), 1, text.size(), out) == text.size();
        written = std::fclose(out) == 0 && written;
    }
    if (!written) {
        const int error = errno;
        std::filesystem::remove(spec_path_);
        throw RuntimeError(RuntimeErrorKind::Internal,
                           "writing " + spec_path_ + ": " + std::strerror(error));
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
