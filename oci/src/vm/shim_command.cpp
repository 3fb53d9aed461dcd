#include "vm/shim_command.hpp"

#include <system_error>
#include <vector>

#include "berth/oci/runtime_error.hpp"
#include "command.hpp"

namespace berth::oci::vm {

namespace {

std::vector<std::string> base_arguments(const ShimCommand& shim) {
    return {shim.binary,  "-namespace",      shim.namespace_name, "-address",
            shim.address, "-publish-binary", shim.publish_binary};
}

CommandOptions options_in(const ShimCommand& shim, const std::string& bundle) {
    CommandOptions options;
    options.working_directory = bundle;
    options.extra_environment = {"TTRPC_ADDRESS=" + shim.ttrpc_address, "GOMAXPROCS=2"};
    return options;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
        text.pop_back();
    return text;
}

}  // namespace

std::string start_shim(const ShimCommand& shim, const std::string& id, const std::string& bundle,
                       const std::string& options, std::chrono::seconds timeout) {
    auto argv = base_arguments(shim);
    argv.insert(argv.end(), {"-id", id, "start"});
    auto command_options = options_in(shim, bundle);
    command_options.input = options;
    CommandResult result;
    try {
        result = run_command(argv, timeout, command_options);
    } catch (const std::system_error& error) {
        throw RuntimeError(RuntimeErrorKind::CannotRun, error.what());
    }
    const std::string address = trimmed(result.out);
    if (result.timed_out) {
        throw RuntimeError(RuntimeErrorKind::CannotRun, join_command(argv) +
                                                            " did not finish within " +
                                                            std::to_string(timeout.count()) + " s");
    }
    if (result.exit_code != 0 || address.empty()) {
        throw RuntimeError(RuntimeErrorKind::CannotRun,
                           join_command(argv) + " failed (exit code " +
                               std::to_string(result.exit_code) +
                               "): " + trimmed(result.err.empty() ? result.out : result.err));
    }
    return address;
}

std::string delete_after_dead_shim(const ShimCommand& shim, const std::string& id,
                                   const std::string& bundle, std::chrono::seconds timeout) {
    auto argv = base_arguments(shim);
    argv.insert(argv.end(), {"-id", id, "-bundle", bundle, "delete"});
    try {
        const auto result = run_command(argv, timeout, options_in(shim, bundle));
        if (result.timed_out)
            return join_command(argv) + " did not finish in time";
        if (result.exit_code != 0)
            return join_command(argv) + " failed: " + trimmed(result.err);
        return "";
    } catch (const std::system_error& error) {
        return error.what();
    }
}

}  // namespace berth::oci::vm
