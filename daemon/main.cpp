// berthd: the Berth CRI daemon.
//   berthd [flags]          serve the CRI API
//   berthd config [flags]   print the effective configuration as TOML
//   berthd version          print the version
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "berth/config/loader.hpp"
#include "berth/config/serialize.hpp"
#include "berth/version.hpp"
#include "daemon.hpp"

namespace {

void add_config_flags(CLI::App& app, berth::config::LoadOptions& options) {
    app.add_option_function<std::string>(
           "--config",
           [&options](const std::string& file) {
               options.config_file = file;
               options.config_file_required = true;
           },
           "configuration file")
        ->default_str(berth::config::kDefaultConfigFile);
    app.add_option("--config-dir", options.config_dir,
                   "directory of drop-in *.conf files, merged in lexical order")
        ->default_str(berth::config::kDefaultConfigDir);
    app.add_option("--root", options.root, "persistent state directory (berth.root)");
    app.add_option("--runroot", options.runroot, "volatile state directory (berth.runroot)");
    app.add_option("--listen", options.listen, "CRI API socket path (berth.api.listen)");
    app.add_option("--log-level", options.log_level,
                   "trace, debug, info, warn, error, fatal or off (berth.log_level)");
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"berthd: a Kubernetes CRI container daemon", "berthd"};
    app.fallthrough();
    berth::config::LoadOptions options;
    add_config_flags(app, options);
    auto* config_command =
        app.add_subcommand("config", "print the effective configuration as TOML");
    auto* version_command = app.add_subcommand("version", "print the version");
    app.require_subcommand(0, 1);
    CLI11_PARSE(app, argc, argv);

    if (*version_command) {
        std::cout << "berthd version " << berth::kVersion << "\nCRI API: runtime.v1\n";
        return 0;
    }
    if (*config_command) {
        try {
            std::cout << berth::config::to_toml(berth::config::load(options));
        } catch (const berth::config::ConfigError& error) {
            std::fprintf(stderr, "berthd: %s\n", error.what());
            return 1;
        }
        return 0;
    }
    return berth::daemon::run_daemon(options);
}
