// berthctl: a crictl-like command line for any CRI endpoint, Berth's first.
// Verbs and flags follow crictl's so that operators' habits carry over.
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"berthctl: client for CRI runtimes (crictl-compatible verbs)", "berthctl"};
    app.fallthrough();
    app.require_subcommand(1);
    berth::ctl::ClientOptions options;
    app.add_option("-r,--runtime-endpoint", options.endpoint,
                   "CRI endpoint (default: $CONTAINER_RUNTIME_ENDPOINT, else " +
                       std::string(berth::ctl::kDefaultEndpoint) + ")");
    app.add_option("-t,--timeout", options.timeout, "timeout of each call, e.g. 2s, 500ms")
        ->default_str("2s");

    berth::ctl::add_version_command(app, options);
    berth::ctl::add_info_command(app, options);
    berth::ctl::add_pod_commands(app, options);
    berth::ctl::add_image_commands(app, options);
    berth::ctl::add_container_commands(app, options);
    berth::ctl::add_event_commands(app, options);
    berth::ctl::add_stats_commands(app, options);
    berth::ctl::add_stream_commands(app, options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error);
    } catch (const berth::ctl::ExitWithStatus& exit) {
        return exit.status();
    } catch (const std::exception& error) {
        std::cerr << "berthctl: " << error.what() << "\n";
        return 1;
    }
    return 0;
}
