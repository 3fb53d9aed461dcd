#include "options.hpp"

#include <getopt.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

namespace berth::conmon {

namespace {

enum OptionId {
    kCid = 256,
    kRuntime,
    kRuntimeRoot,
    kSystemdCgroup,
    kBundle,
    kContainerPidfile,
    kConmonPidfile,
    kLogDir,
    kLogPath,
    kLogSizeMax,
    kExitFile,
    kOomFile,
    kAttachSocket,
    kCtlFifo,
    kStdin,
    kStdinOnce,
    kTerminal,
    kSyncFd,
};

const option kLongOptions[] = {
    {"cid", required_argument, nullptr, kCid},
    {"runtime", required_argument, nullptr, kRuntime},
    {"runtime-root", required_argument, nullptr, kRuntimeRoot},
    {"systemd-cgroup", no_argument, nullptr, kSystemdCgroup},
    {"bundle", required_argument, nullptr, kBundle},
    {"container-pidfile", required_argument, nullptr, kContainerPidfile},
    {"conmon-pidfile", required_argument, nullptr, kConmonPidfile},
    {"log-dir", required_argument, nullptr, kLogDir},
    {"log-path", required_argument, nullptr, kLogPath},
    {"log-size-max", required_argument, nullptr, kLogSizeMax},
    {"exit-file", required_argument, nullptr, kExitFile},
    {"oom-file", required_argument, nullptr, kOomFile},
    {"attach-socket", required_argument, nullptr, kAttachSocket},
    {"ctl-fifo", required_argument, nullptr, kCtlFifo},
    {"stdin", no_argument, nullptr, kStdin},
    {"stdin-once", no_argument, nullptr, kStdinOnce},
    {"terminal", no_argument, nullptr, kTerminal},
    {"sync-fd", required_argument, nullptr, kSyncFd},
    {nullptr, 0, nullptr, 0},
};

bool parse_unsigned(const char* text, unsigned long long& value) {
    if (text == nullptr || *text < '0' || *text > '9') {
        return false;
    }
    char* end = nullptr;
    errno = 0;
    value = std::strtoull(text, &end, 10);
    return errno == 0 && end != nullptr && *end == '\0';
}

}  // namespace

bool parse_options(int argc, char** argv, Options& options, std::string& error) {
    // Found first, so that an error anywhere else can still be reported.
    for (int i = 1; i < argc; ++i) {
        unsigned long long number = 0;
        const std::string_view arg = argv[i];
        if (arg == "--sync-fd" && i + 1 < argc && parse_unsigned(argv[i + 1], number) &&
            number <= 1'000'000) {
            options.sync_fd = static_cast<int>(number);
        } else if (arg.starts_with("--sync-fd=") && parse_unsigned(argv[i] + 10, number) &&
                   number <= 1'000'000) {
            options.sync_fd = static_cast<int>(number);
        }
    }
    opterr = 0;  // our stderr is /dev/null anyway; errors go back through `error`
    int id = 0;
    while ((id = getopt_long(argc, argv, "", kLongOptions, nullptr)) != -1) {
        unsigned long long number = 0;
        switch (id) {
        case kCid:
            options.container_id = optarg;
            break;
        case kRuntime:
            options.runtime = optarg;
            break;
        case kRuntimeRoot:
            options.runtime_root = optarg;
            break;
        case kSystemdCgroup:
            options.systemd_cgroup = true;
            break;
        case kBundle:
            options.bundle = optarg;
            break;
        case kContainerPidfile:
            options.container_pidfile = optarg;
            break;
        case kConmonPidfile:
            options.conmon_pidfile = optarg;
            break;
        case kLogDir:
            options.log_dir = optarg;
            break;
        case kLogPath:
            options.log_path = optarg;
            break;
        case kLogSizeMax:
            if (!parse_unsigned(optarg, number)) {
                error = "--log-size-max needs a number of bytes";
                return false;
            }
            options.log_size_max = number;
            break;
        case kExitFile:
            options.exit_file = optarg;
            break;
        case kOomFile:
            options.oom_file = optarg;
            break;
        case kAttachSocket:
            options.attach_socket = optarg;
            break;
        case kCtlFifo:
            options.ctl_fifo = optarg;
            break;
        case kStdin:
            options.stdin_open = true;
            break;
        case kStdinOnce:
            options.stdin_once = true;
            break;
        case kTerminal:
            options.terminal = true;
            break;
        case kSyncFd:
            if (!parse_unsigned(optarg, number) || number > 1'000'000) {
                error = "--sync-fd needs a file descriptor number";
                return false;
            }
            options.sync_fd = static_cast<int>(number);
            break;
        default:
            error = std::string("unknown or incomplete option: ") +
                    (optind > 0 && optind <= argc ? argv[optind - 1] : "?");
            return false;
        }
    }
    if (optind < argc) {
        error = std::string("unexpected argument: ") + argv[optind];
        return false;
    }
    const std::pair<const std::string*, const char*> required[] = {
        {&options.container_id, "--cid"},
        {&options.runtime, "--runtime"},
        {&options.runtime_root, "--runtime-root"},
        {&options.bundle, "--bundle"},
        {&options.container_pidfile, "--container-pidfile"},
        {&options.conmon_pidfile, "--conmon-pidfile"},
        {&options.log_dir, "--log-dir"},
        {&options.log_path, "--log-path"},
        {&options.exit_file, "--exit-file"},
        {&options.attach_socket, "--attach-socket"},
        {&options.ctl_fifo, "--ctl-fifo"},
    };
    for (const auto& [value, name] : required) {
        if (value->empty()) {
            error = std::string(name) + " is required";
            return false;
        }
    }
    if (options.sync_fd < 0) {
        error = "--sync-fd is required";
        return false;
    }
    return true;
}

}  // namespace berth::conmon
