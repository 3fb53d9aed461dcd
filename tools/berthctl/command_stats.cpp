// Resource usage verbs, named, flagged and printed as crictl's: `stats`
// (containers) and `statsp` (pods). The table's CPU % comes from two samples
// taken --seconds apart, as crictl computes it; --watch repeats that.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "output.hpp"

namespace berth::ctl {

namespace v1 = runtime::v1;

namespace {

constexpr std::size_t kTruncatedIdLength = 13;  // crictl's

struct StatsFlags {
    bool all = false;
    std::string id;
    std::string pod;
    std::vector<std::string> labels;
    std::string output = "table";
    int seconds = 1;
    bool watch = false;
};

// 20971520 -> "20.97MB": docker's go-units HumanSize, which crictl prints.
std::string human_size(double size) {
    static const char* const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    std::size_t unit = 0;
    while (size >= 1000.0 && unit + 1 < std::size(units)) {
        size /= 1000.0;
        ++unit;
    }
    char text[64];
    std::snprintf(text, sizeof text, "%.4g%s", size, units[unit]);
    return text;
}

std::string truncated(const std::string& id) {
    return id.substr(0, kTruncatedIdLength);
}

std::string percent(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", value);
    return text;
}

// Like Go's tabwriter as crictl sets it up (minimum width 20, padding 3):
// every column but the last is padded to its widest cell.
void print_table(const std::vector<std::vector<std::string>>& rows, bool clear_screen) {
    if (clear_screen) {
        std::cout << "\033[2J\033[H";  // --watch: each round replaces the last
    }
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        for (std::size_t column = 0; column + 1 < row.size(); ++column) {
            widths.resize(std::max(widths.size(), column + 1), 0);
            widths[column] = std::max(widths[column], row[column].size() + 3);
        }
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t column = 0; column < row.size(); ++column) {
            line += row[column];
            if (column + 1 < row.size()) {
                line.append(std::max<std::size_t>(widths[column], 20) - row[column].size(), ' ');
            }
        }
        std::cout << line << "\n";
    }
    std::cout << std::flush;
}

std::map<std::string, std::string> parse_labels(const std::vector<std::string>& labels) {
    std::map<std::string, std::string> selector;
    for (const auto& label : labels) {
        const auto equals = label.find('=');
        if (equals == std::string::npos || equals == 0) {
            throw CommandFailed("--label \"" + label + "\" is not key=value");
        }
        selector[label.substr(0, equals)] = label.substr(equals + 1);
    }
    return selector;
}

// CPU % over the window between two samples of the same cumulative counter.
double cpu_percent(std::uint64_t before, std::int64_t before_ts, std::uint64_t after,
                   std::int64_t after_ts) {
    if (after_ts == before_ts) {
        throw CommandFailed("cpu stat is not updated during sample");
    }
    return (static_cast<double>(after) - static_cast<double>(before)) /
           static_cast<double>(after_ts - before_ts) * 100.0;
}

v1::ListContainerStatsResponse list_container_stats(Client& client,
                                                    const v1::ContainerStatsFilter& filter) {
    v1::ListContainerStatsRequest request;
    *request.mutable_filter() = filter;
    v1::ListContainerStatsResponse response;
    check("ListContainerStats",
          client.runtime().ListContainerStats(client.context().get(), request, &response), client);
    std::sort(
        response.mutable_stats()->begin(), response.mutable_stats()->end(),
        [](const auto& a, const auto& b) { return a.attributes().id() < b.attributes().id(); });
    return response;
}

v1::ListPodSandboxStatsResponse list_pod_stats(Client& client,
                                               const v1::PodSandboxStatsFilter& filter) {
    v1::ListPodSandboxStatsRequest request;
    *request.mutable_filter() = filter;
    v1::ListPodSandboxStatsResponse response;
    check("ListPodSandboxStats",
          client.runtime().ListPodSandboxStats(client.context().get(), request, &response), client);
    std::sort(
        response.mutable_stats()->begin(), response.mutable_stats()->end(),
        [](const auto& a, const auto& b) { return a.attributes().id() < b.attributes().id(); });
    return response;
}

void show_container_stats(Client& client, const StatsFlags& flags, OutputFormat format) {
    const bool clear_screen = flags.watch;
    v1::ContainerStatsFilter filter;
    filter.set_id(flags.id);
    filter.set_pod_sandbox_id(flags.pod);
    for (const auto& [key, value] : parse_labels(flags.labels)) {
        (*filter.mutable_label_selector())[key] = value;
    }
    const auto first = list_container_stats(client, filter);
    if (format != OutputFormat::Table) {
        print_structured(message_to_json(first), format);
        return;
    }
    std::map<std::string, v1::ContainerStats> before;
    for (const auto& stats : first.stats()) {
        before[stats.attributes().id()] = stats;
    }
    std::this_thread::sleep_for(std::chrono::seconds(flags.seconds));
    const auto second = list_container_stats(client, filter);

    std::vector<std::vector<std::string>> rows = {
        {"CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES"}};
    for (const auto& stats : second.stats()) {
        const auto cpu = stats.cpu().usage_core_nano_seconds().value();
        const auto memory = stats.memory().working_set_bytes().value();
        if (!flags.all && cpu == 0 && memory == 0) {
            continue;  // not running
        }
        const auto old = before.find(stats.attributes().id());
        if (old == before.end()) {
            continue;  // appeared during the sample
        }
        double cpu_used = 0;
        if (cpu != 0) {
            cpu_used = cpu_percent(old->second.cpu().usage_core_nano_seconds().value(),
                                   old->second.cpu().timestamp(), cpu, stats.cpu().timestamp());
        }
        rows.push_back(
            {truncated(stats.attributes().id()), stats.attributes().metadata().name(),
             percent(cpu_used), human_size(static_cast<double>(memory)),
             human_size(static_cast<double>(stats.writable_layer().used_bytes().value())),
             std::to_string(stats.writable_layer().inodes_used().value())});
    }
    print_table(rows, clear_screen);
}

void show_pod_stats(Client& client, const StatsFlags& flags, OutputFormat format) {
    const bool clear_screen = flags.watch;
    v1::PodSandboxStatsFilter filter;
    filter.set_id(flags.id);
    for (const auto& [key, value] : parse_labels(flags.labels)) {
        (*filter.mutable_label_selector())[key] = value;
    }
    const auto first = list_pod_stats(client, filter);
    if (format != OutputFormat::Table) {
        print_structured(message_to_json(first), format);
        return;
    }
    std::map<std::string, v1::PodSandboxStats> before;
    for (const auto& stats : first.stats()) {
        before[stats.attributes().id()] = stats;
    }
    std::this_thread::sleep_for(std::chrono::seconds(flags.seconds));
    const auto second = list_pod_stats(client, filter);

    std::vector<std::vector<std::string>> rows = {{"POD", "POD ID", "CPU %", "MEM"}};
    for (const auto& stats : second.stats()) {
        const auto cpu = stats.linux().cpu().usage_core_nano_seconds().value();
        const auto memory = stats.linux().memory().working_set_bytes().value();
        if (cpu == 0 && memory == 0) {
            continue;  // nothing measured (a stopped pod)
        }
        const auto old = before.find(stats.attributes().id());
        if (old == before.end()) {
            continue;
        }
        double cpu_used = 0;
        if (cpu != 0) {
            const auto& old_cpu = old->second.linux().cpu();
            cpu_used = cpu_percent(old_cpu.usage_core_nano_seconds().value(), old_cpu.timestamp(),
                                   cpu, stats.linux().cpu().timestamp());
        }
        rows.push_back({stats.attributes().metadata().name(), truncated(stats.attributes().id()),
                        percent(cpu_used), human_size(static_cast<double>(memory))});
    }
    print_table(rows, clear_screen);
}

// Once, or with --watch again and again (each round takes --seconds), the
// screen cleared between rounds as crictl does.
void run_display(const StatsFlags& flags, const ClientOptions& options,
                 void (*show)(Client&, const StatsFlags&, OutputFormat)) {
    const OutputFormat format = parse_output_format(flags.output, true);
    if (flags.seconds < 1) {
        throw CommandFailed("--seconds must be at least 1");
    }
    Client client(options);
    if (!flags.watch) {
        show(client, flags, format);
        return;
    }
    while (true) {
        show(client, flags, format);
        if (format != OutputFormat::Table) {
            std::this_thread::sleep_for(std::chrono::seconds(flags.seconds));
        }
    }
}

void add_common_flags(CLI::App* command, StatsFlags& flags, const char* id_help) {
    command->add_option("ID", flags.id, id_help);
    command->add_option("--id", flags.id, id_help);
    command->add_option("-l,--label", flags.labels, "filter by key=value label (repeatable)");
    command->add_option("-o,--output", flags.output, "json, yaml or table")->default_str("table");
    command->add_option("-s,--seconds", flags.seconds, "sample duration for CPU usage, seconds")
        ->default_str("1");
    command->add_flag("-w,--watch", flags.watch, "refresh every --seconds until interrupted");
}

}  // namespace

void add_stats_commands(CLI::App& app, const ClientOptions& options) {
    auto stats_flags = std::make_shared<StatsFlags>();
    auto* stats = app.add_subcommand("stats", "List container(s) resource usage statistics");
    add_common_flags(stats, *stats_flags, "filter by container id (or a prefix)");
    stats->add_flag("-a,--all", stats_flags->all, "show all containers (default: running ones)");
    stats->add_option("-p,--pod", stats_flags->pod, "filter by pod id (or a prefix)");
    stats->callback(
        [&options, stats_flags] { run_display(*stats_flags, options, show_container_stats); });

    auto pod_flags = std::make_shared<StatsFlags>();
    auto* statsp = app.add_subcommand("statsp", "List pod resource usage statistics");
    add_common_flags(statsp, *pod_flags, "filter by pod id (or a prefix)");
    statsp->callback([&options, pod_flags] { run_display(*pod_flags, options, show_pod_stats); });
}

}  // namespace berth::ctl
