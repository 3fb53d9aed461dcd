#include <memory>

#include "commands.hpp"
#include "output.hpp"

namespace berth::ctl {

void add_info_command(CLI::App& app, const ClientOptions& options) {
    auto output = std::make_shared<std::string>("json");
    auto* command = app.add_subcommand("info", "Display information of the container runtime");
    command->add_option("-o,--output", *output, "json or yaml")->default_str("json");
    command->callback([&options, output] {
        const OutputFormat format = parse_output_format(*output, false);
        Client client(options);
        runtime::v1::StatusRequest request;
        request.set_verbose(true);
        runtime::v1::StatusResponse response;
        auto status = client.runtime().Status(client.context().get(), request, &response);
        if (!status.ok()) {
            throw CommandFailed(describe_failure("Status", status, client.endpoint()));
        }
        // Like crictl: the status, then every verbose info entry.
        auto reply = message_to_json(response);
        nlohmann::ordered_json result;
        result["status"] = reply["status"];
        result["runtimeHandlers"] = reply["runtimeHandlers"];
        result["features"] = reply["features"];
        add_info_entries(result, response.info());
        print_structured(result, format);
    });
}

}  // namespace berth::ctl
