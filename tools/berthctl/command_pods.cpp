// Pod sandbox verbs, named and flagged as crictl's: runp, pods, inspectp,
// stopp, rmp; and updatep (UpdatePodSandboxResources), which crictl lacks,
// flagged as `update`.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <regex>

#include "commands.hpp"
#include "config_file.hpp"
#include "output.hpp"
#include "resource_flags.hpp"

namespace berth::ctl {

namespace v1 = runtime::v1;

namespace {

std::vector<v1::PodSandbox> list_pods(Client& client, const v1::PodSandboxFilter& filter) {
    v1::ListPodSandboxRequest request;
    *request.mutable_filter() = filter;
    v1::ListPodSandboxResponse response;
    check("ListPodSandbox",
          client.runtime().ListPodSandbox(client.context().get(), request, &response), client);
    return {response.items().begin(), response.items().end()};
}

struct PodsFlags {
    std::string id;
    std::string name;
    std::string pod_namespace;
    std::vector<std::string> labels;
    std::string state;
    bool quiet = false;
    bool no_trunc = false;
    std::string output = "table";
};

void print_pods(const PodsFlags& flags, const ClientOptions& options) {
    const OutputFormat format = parse_output_format(flags.output, true);
    v1::PodSandboxFilter filter;
    filter.set_id(flags.id);
    if (!flags.state.empty()) {
        std::string state = flags.state;
        for (auto& c : state) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (state == "ready") {
            filter.mutable_state()->set_state(v1::SANDBOX_READY);
        } else if (state == "notready") {
            filter.mutable_state()->set_state(v1::SANDBOX_NOTREADY);
        } else {
            throw CommandFailed("--state must be ready or notready, not \"" + flags.state + "\"");
        }
    }
    for (const auto& label : flags.labels) {
        const auto equals = label.find('=');
        if (equals == std::string::npos || equals == 0) {
            throw CommandFailed("--label \"" + label + "\" is not key=value");
        }
        (*filter.mutable_label_selector())[label.substr(0, equals)] = label.substr(equals + 1);
    }
    Client client(options);
    // Like crictl, --name and --namespace are regular expressions.
    const std::regex name_pattern(flags.name);
    const std::regex namespace_pattern(flags.pod_namespace);
    std::vector<v1::PodSandbox> pods;
    for (auto& pod : list_pods(client, filter)) {
        if (std::regex_search(pod.metadata().name(), name_pattern) &&
            std::regex_search(pod.metadata().namespace_(), namespace_pattern)) {
            pods.push_back(std::move(pod));
        }
    }
    std::sort(pods.begin(), pods.end(),
              [](const auto& a, const auto& b) { return a.created_at() > b.created_at(); });
    if (flags.quiet) {
        for (const auto& pod : pods) {
            std::cout << pod.id() << "\n";
        }
        return;
    }
    if (format != OutputFormat::Table) {
        v1::ListPodSandboxResponse all;
        for (const auto& pod : pods) {
            *all.add_items() = pod;
        }
        print_structured(message_to_json(all), format);
        return;
    }
    std::cout << std::left << std::setw(16) << "POD ID" << std::setw(24) << "CREATED"
              << std::setw(10) << "STATE" << std::setw(24) << "NAME" << std::setw(16) << "NAMESPACE"
              << std::setw(9) << "ATTEMPT"
              << "RUNTIME\n";
    for (const auto& pod : pods) {
        const std::string id = flags.no_trunc ? pod.id() : pod.id().substr(0, 13);
        std::cout << std::left << std::setw(16) << id << std::setw(24)
                  << human_age(pod.created_at()) << std::setw(10)
                  << (pod.state() == v1::SANDBOX_READY ? "Ready" : "NotReady") << std::setw(24)
                  << pod.metadata().name() << std::setw(16) << pod.metadata().namespace_()
                  << std::setw(9) << pod.metadata().attempt()
                  << (pod.runtime_handler().empty() ? "(default)" : pod.runtime_handler()) << "\n";
    }
}

void update_pod_resources(const std::vector<std::string>& ids, const ResourceFlags& flags,
                          const ClientOptions& options) {
    Client client(options);
    for (const auto& id : ids) {
        v1::UpdatePodSandboxResourcesRequest request;
        request.set_pod_sandbox_id(id);
        fill_resources(flags, *request.mutable_resources());
        v1::UpdatePodSandboxResourcesResponse response;
        check(
            "UpdatePodSandboxResources",
            client.runtime().UpdatePodSandboxResources(client.context().get(), request, &response),
            client);
        std::cout << id << "\n";
    }
}

}  // namespace

void add_pod_commands(CLI::App& app, const ClientOptions& options) {
    auto runp_file = std::make_shared<std::string>();
    auto runp_handler = std::make_shared<std::string>();
    auto* runp = app.add_subcommand("runp", "Run a new pod");
    runp->add_option("pod-config.[json|yaml]", *runp_file, "pod sandbox config")->required();
    runp->add_option("-r,--runtime", *runp_handler, "runtime handler to use");
    runp->callback([&options, runp_file, runp_handler] {
        v1::RunPodSandboxRequest request;
        *request.mutable_config() = load_pod_config(*runp_file);
        request.set_runtime_handler(*runp_handler);
        Client client(options);
        v1::RunPodSandboxResponse response;
        // Network set-up can take a while: not bound by the short --timeout.
        grpc::ClientContext context;
        check("RunPodSandbox", client.runtime().RunPodSandbox(&context, request, &response),
              client);
        std::cout << response.pod_sandbox_id() << "\n";
    });

    auto flags = std::make_shared<PodsFlags>();
    auto* pods = app.add_subcommand("pods", "List pods");
    pods->add_option("--id", flags->id, "filter by pod id (or a prefix)");
    pods->add_option("--name", flags->name, "filter by pod name regular expression");
    pods->add_option("--namespace", flags->pod_namespace, "filter by namespace regular expression");
    pods->add_option("--label", flags->labels, "filter by key=value label (repeatable)");
    pods->add_option("-s,--state", flags->state, "filter by state: ready or notready");
    pods->add_flag("-q,--quiet", flags->quiet, "only print pod ids");
    pods->add_flag("--no-trunc", flags->no_trunc, "show full ids");
    pods->add_option("-o,--output", flags->output, "json, yaml or table")->default_str("table");
    pods->callback([&options, flags] { print_pods(*flags, options); });

    auto inspect_ids = std::make_shared<std::vector<std::string>>();
    auto inspect_output = std::make_shared<std::string>("json");
    auto* inspectp = app.add_subcommand("inspectp", "Display the status of one or more pods");
    inspectp->add_option("POD-ID", *inspect_ids, "pod ids (or unique prefixes)")->required();
    inspectp->add_option("-o,--output", *inspect_output, "json or yaml")->default_str("json");
    inspectp->callback([&options, inspect_ids, inspect_output] {
        const OutputFormat format = parse_output_format(*inspect_output, false);
        Client client(options);
        for (const auto& id : *inspect_ids) {
            v1::PodSandboxStatusRequest request;
            request.set_pod_sandbox_id(id);
            request.set_verbose(true);
            v1::PodSandboxStatusResponse response;
            check("PodSandboxStatus",
                  client.runtime().PodSandboxStatus(client.context().get(), request, &response),
                  client);
            nlohmann::ordered_json result;
            result["status"] = message_to_json(response)["status"];
            add_info_entries(result, response.info());
            print_structured(result, format);
        }
    });

    auto stop_ids = std::make_shared<std::vector<std::string>>();
    auto* stopp = app.add_subcommand("stopp", "Stop one or more running pods");
    stopp->add_option("POD-ID", *stop_ids, "pod ids (or unique prefixes)")->required();
    stopp->callback([&options, stop_ids] {
        Client client(options);
        for (const auto& id : *stop_ids) {
            v1::StopPodSandboxRequest request;
            request.set_pod_sandbox_id(id);
            v1::StopPodSandboxResponse response;
            grpc::ClientContext context;
            check("StopPodSandbox", client.runtime().StopPodSandbox(&context, request, &response),
                  client);
            std::cout << "Stopped sandbox " << id << "\n";
        }
    });

    auto update_ids = std::make_shared<std::vector<std::string>>();
    auto update_flags = std::make_shared<ResourceFlags>();
    auto* updatep = app.add_subcommand(
        "updatep", "Update the resources of one or more pods (their own cgroups)");
    updatep->add_option("POD-ID", *update_ids, "pod ids (or unique prefixes)")->required();
    add_resource_options(*updatep, *update_flags);
    updatep->callback([&options, update_ids, update_flags] {
        update_pod_resources(*update_ids, *update_flags, options);
    });

    auto remove_ids = std::make_shared<std::vector<std::string>>();
    auto remove_all = std::make_shared<bool>(false);
    auto force = std::make_shared<bool>(false);
    auto* rmp = app.add_subcommand("rmp", "Remove one or more pods");
    rmp->add_option("POD-ID", *remove_ids, "pod ids (or unique prefixes)");
    rmp->add_flag("-a,--all", *remove_all, "remove all pods");
    rmp->add_flag("-f,--force", *force, "stop running pods first (berthd always does)");
    rmp->callback([&options, remove_ids, remove_all] {
        Client client(options);
        std::vector<std::string> ids = *remove_ids;
        if (*remove_all) {
            for (const auto& pod : list_pods(client, {})) {
                ids.push_back(pod.id());
            }
        }
        // --all with no pods is done, as with crictl.
        if (ids.empty() && !*remove_all) {
            throw CommandFailed("rmp: give pod ids, or --all");
        }
        for (const auto& id : ids) {
            v1::RemovePodSandboxRequest request;
            request.set_pod_sandbox_id(id);
            v1::RemovePodSandboxResponse response;
            grpc::ClientContext context;
            check("RemovePodSandbox",
                  client.runtime().RemovePodSandbox(&context, request, &response), client);
            std::cout << "Removed sandbox " << id << "\n";
        }
    });
}

}  // namespace berth::ctl
