// Container verbs, named and flagged as crictl's: create, start, run, ps,
// inspect, stop, rm, logs, update.
#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <regex>
#include <thread>

#include "commands.hpp"
#include "config_file.hpp"
#include "output.hpp"
#include "resource_flags.hpp"

namespace berth::ctl {

namespace v1 = runtime::v1;

namespace {

// crictl pulls the image of a container it creates unless told not to.
void ensure_image(Client& client, const std::string& image) {
    v1::ImageStatusRequest status;
    status.mutable_image()->set_image(image);
    v1::ImageStatusResponse present;
    check("ImageStatus", client.image().ImageStatus(client.context().get(), status, &present),
          client);
    if (present.has_image())
        return;
    v1::PullImageRequest pull;
    pull.mutable_image()->set_image(image);
    v1::PullImageResponse pulled;
    grpc::ClientContext context;  // a pull takes as long as it takes
    check("PullImage", client.image().PullImage(&context, pull, &pulled), client);
}

std::string create_container(Client& client, const std::string& pod_id,
                             const v1::ContainerConfig& config, const v1::PodSandboxConfig& pod,
                             bool pull) {
    if (pull)
        ensure_image(client, config.image().image());
    v1::CreateContainerRequest request;
    request.set_pod_sandbox_id(pod_id);
    *request.mutable_config() = config;
    *request.mutable_sandbox_config() = pod;
    v1::CreateContainerResponse response;
    grpc::ClientContext context;
    check("CreateContainer", client.runtime().CreateContainer(&context, request, &response),
          client);
    return response.container_id();
}

void start_container(Client& client, const std::string& id) {
    v1::StartContainerRequest request;
    request.set_container_id(id);
    v1::StartContainerResponse response;
    grpc::ClientContext context;
    check("StartContainer", client.runtime().StartContainer(&context, request, &response), client);
}

v1::ContainerStatusResponse container_status(Client& client, const std::string& id, bool verbose) {
    v1::ContainerStatusRequest request;
    request.set_container_id(id);
    request.set_verbose(verbose);
    v1::ContainerStatusResponse response;
    check("ContainerStatus",
          client.runtime().ContainerStatus(client.context().get(), request, &response), client);
    return response;
}

std::vector<v1::Container> list_containers(Client& client, const v1::ContainerFilter& filter) {
    v1::ListContainersRequest request;
    *request.mutable_filter() = filter;
    v1::ListContainersResponse response;
    check("ListContainers",
          client.runtime().ListContainers(client.context().get(), request, &response), client);
    return {response.containers().begin(), response.containers().end()};
}

const char* state_name(v1::ContainerState state) {
    switch (state) {
    case v1::CONTAINER_CREATED:
        return "Created";
    case v1::CONTAINER_RUNNING:
        return "Running";
    case v1::CONTAINER_EXITED:
        return "Exited";
    default:
        return "Unknown";
    }
}

struct PsFlags {
    bool all = false;
    std::string id, pod, name, state, image;
    std::vector<std::string> labels;
    bool quiet = false, no_trunc = false;
    std::string output = "table";
};

void print_containers(const PsFlags& flags, const ClientOptions& options) {
    const OutputFormat format = parse_output_format(flags.output, true);
    v1::ContainerFilter filter;
    filter.set_id(flags.id);
    filter.set_pod_sandbox_id(flags.pod);
    std::string state = flags.state;
    for (auto& c : state)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (state.empty() && !flags.all)
        state = "running";
    if (!state.empty()) {
        const std::map<std::string, v1::ContainerState> states = {
            {"created", v1::CONTAINER_CREATED},
            {"running", v1::CONTAINER_RUNNING},
            {"exited", v1::CONTAINER_EXITED},
            {"unknown", v1::CONTAINER_UNKNOWN}};
        const auto found = states.find(state);
        if (found == states.end()) {
            throw CommandFailed("--state must be created, running, exited or unknown, not \"" +
                                flags.state + "\"");
        }
        filter.mutable_state()->set_state(found->second);
    }
    for (const auto& label : flags.labels) {
        const auto equals = label.find('=');
        if (equals == std::string::npos || equals == 0)
            throw CommandFailed("--label \"" + label + "\" is not key=value");
        (*filter.mutable_label_selector())[label.substr(0, equals)] = label.substr(equals + 1);
    }
    Client client(options);
    const std::regex name_pattern(flags.name);
    std::vector<v1::Container> containers;
    for (auto& container : list_containers(client, filter)) {
        if (std::regex_search(container.metadata().name(), name_pattern) &&
            (flags.image.empty() ||
             container.image().image().find(flags.image) != std::string::npos)) {
            containers.push_back(std::move(container));
        }
    }
    std::sort(containers.begin(), containers.end(),
              [](const auto& a, const auto& b) { return a.created_at() > b.created_at(); });
    if (flags.quiet) {
        for (const auto& container : containers)
            std::cout << container.id() << "\n";
        return;
    }
    if (format != OutputFormat::Table) {
        v1::ListContainersResponse all;
        for (const auto& container : containers)
            *all.add_containers() = container;
        print_structured(message_to_json(all), format);
        return;
    }
    std::cout << std::left << std::setw(16) << "CONTAINER" << std::setw(32) << "IMAGE"
              << std::setw(24) << "CREATED" << std::setw(10) << "STATE" << std::setw(20) << "NAME"
              << std::setw(9) << "ATTEMPT"
              << "POD ID\n";
    for (const auto& container : containers) {
        const auto trim = [&](const std::string& id) {
            return flags.no_trunc ? id : id.substr(0, 13);
        };
        std::cout << std::left << std::setw(16) << trim(container.id()) << std::setw(32)
                  << container.image().image() << std::setw(24) << human_age(container.created_at())
                  << std::setw(10) << state_name(container.state()) << std::setw(20)
                  << container.metadata().name() << std::setw(9) << container.metadata().attempt()
                  << trim(container.pod_sandbox_id()) << "\n";
    }
}

struct LogsFlags {
    bool follow = false;
    std::int64_t tail = -1;
    bool timestamps = false;
    std::string since;
};

// One CRI log record: "<time> <stream> <P|F> <text>".
struct LogRecord {
    std::string time, stream, tag, text;
};

bool parse_record(const std::string& line, LogRecord& record) {
    const auto first = line.find(' ');
    const auto second = first == std::string::npos ? first : line.find(' ', first + 1);
    const auto third = second == std::string::npos ? second : line.find(' ', second + 1);
    if (third == std::string::npos)
        return false;
    record.time = line.substr(0, first);
    record.stream = line.substr(first + 1, second - first - 1);
    record.tag = line.substr(second + 1, third - second - 1);
    record.text = line.substr(third + 1);
    return true;
}

// Prints the container's log as crictl does: partial records joined, stdout
// to stdout and stderr to stderr; --follow until the container has exited.
void print_logs(const std::string& id, const LogsFlags& flags, const ClientOptions& options) {
    Client client(options);
    const auto status = container_status(client, id, false).status();
    const std::string path = status.log_path();
    if (path.empty())
        throw CommandFailed("container " + id + " has no log path");
    std::ifstream in(path);
    if (!in)
        throw CommandFailed("cannot read " + path);
    std::deque<std::string> lines;  // complete lines, for --tail
    std::string pending_out, pending_err;
    auto emit = [&](const LogRecord& record, bool live) {
        if (!flags.since.empty() && record.time < flags.since)
            return;
        std::string& pending = record.stream == "stderr" ? pending_err : pending_out;
        pending += record.text;
        if (record.tag == "P")
            return;
        std::string line = (flags.timestamps ? record.time + " " : "") + pending + "\n";
        pending.clear();
        if (live || flags.tail < 0) {
            (record.stream == "stderr" ? std::cerr : std::cout) << line << std::flush;
        } else {
            lines.push_back((record.stream == "stderr" ? "2" : "1") + line);
            if (static_cast<std::int64_t>(lines.size()) > flags.tail)
                lines.pop_front();
        }
    };
    std::string text;
    LogRecord record;
    while (std::getline(in, text)) {
        if (parse_record(text, record))
            emit(record, false);
    }
    for (const auto& line : lines)
        (line[0] == '2' ? std::cerr : std::cout) << line.substr(1);
    std::cout << std::flush;
    if (!flags.follow)
        return;
    in.clear();
    std::string partial;
    while (true) {
        if (std::getline(in, text)) {
            if (in.eof()) {  // no newline yet: the record is still being written
                partial += text;
                in.clear();
                continue;
            }
            text = partial + text;
            partial.clear();
            if (parse_record(text, record))
                emit(record, true);
            continue;
        }
        in.clear();
        if (container_status(client, id, false).status().state() != v1::CONTAINER_RUNNING) {
            // Drain what was written before the exit, then stop.
            while (std::getline(in, text)) {
                if (parse_record(partial + text, record))
                    emit(record, true);
                partial.clear();
            }
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

}  // namespace

void add_container_commands(CLI::App& app, const ClientOptions& options) {
    struct CreateArgs {
        std::string pod, container_file, pod_file;
        bool no_pull = false;
    };
    auto create_args = std::make_shared<CreateArgs>();
    auto* create = app.add_subcommand("create", "Create a new container");
    create->add_option("POD", create_args->pod, "pod sandbox id")->required();
    create
        ->add_option("container-config.[json|yaml]", create_args->container_file,
                     "container config")
        ->required();
    create->add_option("pod-config.[json|yaml]", create_args->pod_file, "pod sandbox config")
        ->required();
    create->add_flag("--no-pull", create_args->no_pull, "do not pull the image when it is missing");
    create->callback([&options, create_args] {
        Client client(options);
        std::cout << create_container(client, create_args->pod,
                                      load_container_config(create_args->container_file),
                                      load_pod_config(create_args->pod_file), !create_args->no_pull)
                  << "\n";
    });

    auto start_ids = std::make_shared<std::vector<std::string>>();
    auto* start = app.add_subcommand("start", "Start one or more created containers");
    start->add_option("CONTAINER-ID", *start_ids, "container ids (or unique prefixes)")->required();
    start->callback([&options, start_ids] {
        Client client(options);
        for (const auto& id : *start_ids) {
            start_container(client, id);
            std::cout << id << "\n";
        }
    });

    struct RunArgs {
        std::string container_file, pod_file, handler;
        bool no_pull = false;
    };
    auto run_args = std::make_shared<RunArgs>();
    auto* run = app.add_subcommand("run", "Run a new container inside a new pod");
    run->add_option("container-config.[json|yaml]", run_args->container_file, "container config")
        ->required();
    run->add_option("pod-config.[json|yaml]", run_args->pod_file, "pod sandbox config")->required();
    run->add_option("-r,--runtime", run_args->handler, "runtime handler to use");
    run->add_flag("--no-pull", run_args->no_pull, "do not pull the image when it is missing");
    run->callback([&options, run_args] {
        Client client(options);
        const auto pod = load_pod_config(run_args->pod_file);
        const auto container = load_container_config(run_args->container_file);
        if (!run_args->no_pull)
            ensure_image(client, container.image().image());
        v1::RunPodSandboxRequest request;
        *request.mutable_config() = pod;
        request.set_runtime_handler(run_args->handler);
        v1::RunPodSandboxResponse response;
        grpc::ClientContext context;
        check("RunPodSandbox", client.runtime().RunPodSandbox(&context, request, &response),
              client);
        const std::string id =
            create_container(client, response.pod_sandbox_id(), container, pod, false);
        start_container(client, id);
        std::cout << id << "\n";
    });

    auto ps_flags = std::make_shared<PsFlags>();
    auto* ps = app.add_subcommand("ps", "List containers");
    ps->add_flag("-a,--all", ps_flags->all, "show all containers, not only running ones");
    ps->add_option("--id", ps_flags->id, "filter by container id (or a prefix)");
    ps->add_option("-p,--pod", ps_flags->pod, "filter by pod id (or a prefix)");
    ps->add_option("--name", ps_flags->name, "filter by name regular expression");
    ps->add_option("--image", ps_flags->image, "filter by image");
    ps->add_option("--label", ps_flags->labels, "filter by key=value label (repeatable)");
    ps->add_option("-s,--state", ps_flags->state,
                   "filter by state: created, running, exited, unknown");
    ps->add_flag("-q,--quiet", ps_flags->quiet, "only print container ids");
    ps->add_flag("--no-trunc", ps_flags->no_trunc, "show full ids");
    ps->add_option("-o,--output", ps_flags->output, "json, yaml or table")->default_str("table");
    ps->callback([&options, ps_flags] { print_containers(*ps_flags, options); });

    auto inspect_ids = std::make_shared<std::vector<std::string>>();
    auto inspect_output = std::make_shared<std::string>("json");
    auto* inspect = app.add_subcommand("inspect", "Display the status of one or more containers");
    inspect->add_option("CONTAINER-ID", *inspect_ids, "container ids (or unique prefixes)")
        ->required();
    inspect->add_option("-o,--output", *inspect_output, "json or yaml")->default_str("json");
    inspect->callback([&options, inspect_ids, inspect_output] {
        const OutputFormat format = parse_output_format(*inspect_output, false);
        Client client(options);
        for (const auto& id : *inspect_ids) {
            const auto response = container_status(client, id, true);
            nlohmann::ordered_json result;
            result["status"] = message_to_json(response)["status"];
            add_info_entries(result, response.info());
            print_structured(result, format);
        }
    });

    auto stop_ids = std::make_shared<std::vector<std::string>>();
    auto stop_timeout = std::make_shared<std::int64_t>(0);
    auto* stop = app.add_subcommand("stop", "Stop one or more running containers");
    stop->add_option("CONTAINER-ID", *stop_ids, "container ids (or unique prefixes)")->required();
    stop->add_option("-t,--timeout", *stop_timeout, "seconds to wait before killing");
    stop->callback([&options, stop_ids, stop_timeout] {
        Client client(options);
        for (const auto& id : *stop_ids) {
            v1::StopContainerRequest request;
            request.set_container_id(id);
            request.set_timeout(*stop_timeout);
            v1::StopContainerResponse response;
            grpc::ClientContext context;
            check("StopContainer", client.runtime().StopContainer(&context, request, &response),
                  client);
            std::cout << id << "\n";
        }
    });

    auto rm_ids = std::make_shared<std::vector<std::string>>();
    auto rm_all = std::make_shared<bool>(false);
    auto rm_force = std::make_shared<bool>(false);
    auto* rm = app.add_subcommand("rm", "Remove one or more containers");
    rm->add_option("CONTAINER-ID", *rm_ids, "container ids (or unique prefixes)");
    rm->add_flag("-a,--all", *rm_all, "remove all containers");
    rm->add_flag("-f,--force", *rm_force, "remove running containers too (they are stopped first)");
    rm->callback([&options, rm_ids, rm_all, rm_force] {
        Client client(options);
        std::vector<std::string> ids = *rm_ids;
        if (*rm_all) {
            for (const auto& container : list_containers(client, {}))
                ids.push_back(container.id());
        }
        // --all with no containers is done, as with crictl.
        if (ids.empty() && !*rm_all)
            throw CommandFailed("rm: give container ids, or --all");
        for (const auto& id : ids) {
            if (!*rm_force &&
                container_status(client, id, false).status().state() == v1::CONTAINER_RUNNING) {
                throw CommandFailed("container " + id +
                                    " is running: stop it first, or use --force");
            }
            v1::RemoveContainerRequest request;
            request.set_container_id(id);
            v1::RemoveContainerResponse response;
            grpc::ClientContext context;
            check("RemoveContainer", client.runtime().RemoveContainer(&context, request, &response),
                  client);
            std::cout << id << "\n";
        }
    });

    auto logs_id = std::make_shared<std::string>();
    auto logs_flags = std::make_shared<LogsFlags>();
    auto* logs = app.add_subcommand("logs", "Fetch the logs of a container");
    logs->add_option("CONTAINER-ID", *logs_id, "container id (or a unique prefix)")->required();
    logs->add_flag("-f,--follow", logs_flags->follow, "follow the log until the container exits");
    logs->add_option("--tail", logs_flags->tail, "only the last N lines");
    logs->add_flag("-t,--timestamps", logs_flags->timestamps, "show timestamps");
    logs->add_option("--since", logs_flags->since, "only lines at or after this RFC3339 time");
    logs->callback([&options, logs_id, logs_flags] { print_logs(*logs_id, *logs_flags, options); });

    auto update_ids = std::make_shared<std::vector<std::string>>();
    auto update_flags = std::make_shared<ResourceFlags>();
    auto* update = app.add_subcommand("update", "Update the resources of one or more containers");
    update->add_option("CONTAINER-ID", *update_ids, "container ids (or unique prefixes)")
        ->required();
    add_resource_options(*update, *update_flags);
    update->callback([&options, update_ids, update_flags] {
        Client client(options);
        for (const auto& id : *update_ids) {
            v1::UpdateContainerResourcesRequest request;
            request.set_container_id(id);
            fill_resources(*update_flags, *request.mutable_linux());
            v1::UpdateContainerResourcesResponse response;
            check("UpdateContainerResources",
                  client.runtime().UpdateContainerResources(client.context().get(), request,
                                                            &response),
                  client);
            std::cout << id << "\n";
        }
    });
}

}  // namespace berth::ctl
