// RuntimeOCI::checkpoint: `runc|crun checkpoint`, which drive CRIU. CRIU
// depends on the kernel in ways a package cannot promise (vDSO layout,
// namespaces, seccomp, ...), so `criu check` runs first: where it fails, the
// caller learns CRIU's own first complaint instead of a dump that fails
// halfway with "criu failed: type DUMP errno 0".
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "berth/oci/runtime_oci.hpp"
#include "command.hpp"

namespace berth::oci {
namespace fs = std::filesystem;

namespace {

// Where the runtime will find criu: it looks it up in $PATH, as we do.
std::string find_criu() {
    const char* path = std::getenv("PATH");
    std::istringstream directories(path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
    std::string directory;
    while (std::getline(directories, directory, ':')) {
        if (directory.empty())
            continue;
        const std::string candidate = directory + "/criu";
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return "";
}

// CRIU's first "Error ..." line, else the first line that says anything.
std::string first_error_line(const std::string& text) {
    std::istringstream lines(text);
    std::string line;
    std::string first;
    while (std::getline(lines, line)) {
        if (line.rfind("Error", 0) == 0)
            return line;
        if (first.empty() && line.find_first_not_of(" \t\r") != std::string::npos)
            first = line;
    }
    return first;
}

std::string read_file(const fs::path& file) {
    std::ifstream in(file);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

// Throws FailedPrecondition naming why CRIU cannot checkpoint here.
void require_working_criu() {
    const std::string criu = find_criu();
    if (criu.empty()) {
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "checkpointing needs CRIU, and criu is not in PATH (install the "
                           "criu package)");
    }
    CommandResult result;
    try {
        result = run_command({criu, "check"}, std::chrono::seconds(30));
    } catch (const std::system_error& error) {
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "CRIU cannot run on this host: " + criu + ": " + error.what());
    }
    if (result.timed_out || result.exit_code != 0) {
        std::string reason = first_error_line(result.err + "\n" + result.out);
        if (result.timed_out)
            reason = "no answer within 30 s";
        if (reason.empty())
            reason = "exit status " + std::to_string(result.exit_code);
        throw RuntimeError(RuntimeErrorKind::FailedPrecondition,
                           "CRIU cannot checkpoint containers on this host: `" + criu +
                               " check` failed: " + reason);
    }
}

}  // namespace

void RuntimeOCI::checkpoint(const std::string& id, const std::string& image_dir, bool leave_running,
                            std::chrono::seconds timeout) {
    require_working_criu();
    const fs::path images(image_dir);
    const std::string work_dir = images.parent_path().string();
    fs::create_directories(images);
    try {
        if (leave_running) {
            run({"checkpoint", "--image-path", image_dir, "--work-path", work_dir,
                 "--leave-running", id},
                RuntimeErrorKind::Internal, timeout);
        } else {
            run({"checkpoint", "--image-path", image_dir, "--work-path", work_dir, id},
                RuntimeErrorKind::Internal, timeout);
        }
    } catch (const RuntimeError& error) {
        // The runtime only says "criu failed ... log file: dump.log": the
        // reason is in that log.
        const std::string reason = first_error_line(read_file(fs::path(work_dir) / "dump.log"));
        if (reason.empty())
            throw;
        throw RuntimeError(error.kind(), std::string(error.what()) + " (CRIU: " + reason + ")");
    }
}

}  // namespace berth::oci
