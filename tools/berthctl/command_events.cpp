// Event and checkpoint verbs: `events` follows GetContainerEvents (one line
// per event, or one JSON object per line with -o json) until the stream ends
// or berthctl is interrupted; `checkpoint ID --export FILE` as crictl's.
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "output.hpp"

namespace berth::ctl {

namespace v1 = runtime::v1;

namespace {

// RFC 3339 with nanoseconds, UTC, as CRI logs and crictl print times.
std::string timestamp(std::int64_t ns) {
    const std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char date[32];
    std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &utc);
    char fraction[16];
    std::snprintf(fraction, sizeof(fraction), ".%09lld",
                  static_cast<long long>(ns % 1'000'000'000));
    return std::string(date) + fraction + "Z";
}

// "CONTAINER_STARTED_EVENT" -> "started".
std::string short_type(v1::ContainerEventType type) {
    std::string name = v1::ContainerEventType_Name(type);
    const std::string prefix = "CONTAINER_";
    const std::string suffix = "_EVENT";
    if (name.rfind(prefix, 0) == 0)
        name.erase(0, prefix.size());
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        name.erase(name.size() - suffix.size());
    }
    for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
}

// TIME TYPE CONTAINER NAME STATE POD
void print_line(const v1::ContainerEventResponse& event) {
    std::string name = "-";
    std::string state = "-";
    for (const auto& status : event.containers_statuses()) {
        if (status.id() == event.container_id()) {
            name = status.metadata().name();
            state = v1::ContainerState_Name(status.state());
            if (status.state() == v1::CONTAINER_EXITED)
                state += "(" + std::to_string(status.exit_code()) + ")";
        }
    }
    const std::string pod = event.has_pod_sandbox_status()
                                ? event.pod_sandbox_status().metadata().name()
                                : std::string("-");
    std::cout << timestamp(event.created_at()) << " " << short_type(event.container_event_type())
              << " " << event.container_id().substr(0, 13) << " " << name << " " << state
              << " pod=" << pod << std::endl;  // flushed: a pipe reader sees each event at once
}

void add_events_command(CLI::App& app, const ClientOptions& options) {
    auto output = std::make_shared<std::string>("table");
    auto* events = app.add_subcommand(
        "events", "Follow container events (GetContainerEvents) until interrupted");
    events
        ->add_option("-o,--output", *output,
                     "output format: table (one line each), json (one object a line) or yaml")
        ->default_str("table");
    events->callback([&options, output] {
        const OutputFormat format = parse_output_format(*output, true);
        Client client(options);
        grpc::ClientContext context;  // no deadline: a stream to follow
        auto reader = client.runtime().GetContainerEvents(&context, {});
        v1::ContainerEventResponse event;
        while (reader->Read(&event)) {
            if (format == OutputFormat::Json)
                std::cout << message_to_json(event).dump() << std::endl;
            else if (format == OutputFormat::Yaml)
                std::cout << "---\n" << to_yaml(message_to_json(event)) << std::flush;
            else
                print_line(event);
        }
        check("GetContainerEvents", reader->Finish(), client);
    });
}

void add_checkpoint_command(CLI::App& app, const ClientOptions& options) {
    auto id = std::make_shared<std::string>();
    auto archive = std::make_shared<std::string>();
    auto timeout = std::make_shared<std::int64_t>(0);
    auto* checkpoint = app.add_subcommand(
        "checkpoint", "Checkpoint a running container into an archive (CRIU); it keeps running");
    checkpoint->add_option("CONTAINER-ID", *id, "container id (or a unique prefix)")->required();
    checkpoint->add_option("--export,-e", *archive, "the archive to write (a tar file)")
        ->required();
    checkpoint->add_option("--checkpoint-timeout", *timeout,
                           "seconds the checkpoint may take (0: the runtime's default)");
    checkpoint->callback([&options, id, archive, timeout] {
        Client client(options);
        v1::CheckpointContainerRequest request;
        request.set_container_id(*id);
        // berthd writes the file: a relative path means ours, not its.
        request.set_location(std::filesystem::absolute(*archive).lexically_normal().string());
        request.set_timeout(*timeout);
        v1::CheckpointContainerResponse response;
        grpc::ClientContext context;  // a dump takes as long as the container's memory
        check("CheckpointContainer",
              client.runtime().CheckpointContainer(&context, request, &response), client);
        std::cout << *id << "\n";
    });
}

}  // namespace

void add_event_commands(CLI::App& app, const ClientOptions& options) {
    add_events_command(app, options);
    add_checkpoint_command(app, options);
}

}  // namespace berth::ctl
