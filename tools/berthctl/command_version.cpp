#include <iostream>
#include <memory>

#include "commands.hpp"
#include "output.hpp"

namespace berth::ctl {

void add_version_command(CLI::App& app, const ClientOptions& options) {
    auto output = std::make_shared<std::string>("table");
    auto* command = app.add_subcommand("version", "Display runtime version information");
    command->add_option("-o,--output", *output, "json, yaml or table")->default_str("table");
    command->callback([&options, output] {
        const OutputFormat format = parse_output_format(*output, true);
        Client client(options);
        runtime::v1::VersionRequest request;
        request.set_version("v1");
        runtime::v1::VersionResponse response;
        auto status = client.runtime().Version(client.context().get(), request, &response);
        if (!status.ok()) {
            throw CommandFailed(describe_failure("Version", status, client.endpoint()));
        }
        if (format != OutputFormat::Table) {
            print_structured(message_to_json(response), format);
            return;
        }
        std::cout << "Version:  " << response.version() << "\n"
                  << "RuntimeName:  " << response.runtime_name() << "\n"
                  << "RuntimeVersion:  " << response.runtime_version() << "\n"
                  << "RuntimeApiVersion:  " << response.runtime_api_version() << "\n";
    });
}

}  // namespace berth::ctl
