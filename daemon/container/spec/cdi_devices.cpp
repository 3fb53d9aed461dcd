#include "container/spec/cdi_devices.hpp"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "container/spec/cdi_edits.hpp"
#include "container/spec/cdi_registry.hpp"
#include "quoted_value.hpp"

namespace berth::daemon::container {

namespace {

constexpr std::string_view kAnnotationPrefix = "cdi.k8s.io/";

std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return "";
    }
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

}  // namespace

std::vector<CdiRequest> requested_cdi_devices(const runtime::v1::ContainerConfig& config) {
    std::vector<CdiRequest> requests;
    std::set<std::string> seen;
    const auto add = [&](std::string name, std::string field) {
        if (seen.insert(name).second) {
            requests.push_back({std::move(name), std::move(field)});
        }
    };
    for (int i = 0; i < config.cdi_devices_size(); ++i) {
        add(config.cdi_devices(i).name(), "CDI_devices[" + std::to_string(i) + "].name");
    }
    std::vector<std::string> keys;
    for (const auto& [key, value] : config.annotations()) {
        if (key.size() > kAnnotationPrefix.size() && key.rfind(kAnnotationPrefix, 0) == 0) {
            keys.push_back(key);
        }
    }
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
        const std::string& value = config.annotations().at(key);
        std::size_t start = 0;
        while (start <= value.size()) {
            const auto comma = std::min(value.find(',', start), value.size());
            std::string name = trimmed(std::string_view(value).substr(start, comma - start));
            if (!name.empty()) {
                add(std::move(name), "annotations[" + quoted_value(key) + "]");
            }
            start = comma + 1;
        }
    }
    return requests;
}

void inject_cdi_devices(const SpecInputs& in, nlohmann::json& spec) {
    const auto requests = requested_cdi_devices(*in.container);
    if (requests.empty()) {
        return;
    }
    for (const auto& request : requests) {
        if (const auto parsed = cdi::parse_qualified_name(request.name); !parsed.problem.empty()) {
            throw SpecError(request.field + " " + quoted_value(request.name) + " " +
                            parsed.problem);
        }
    }
    const auto registry = cdi::Registry::load(in.config->runtime.cdi_spec_dirs);
    std::set<const cdi::Spec*> applied_specs;
    for (const auto& request : requests) {
        const auto* entry = registry.find(request.name);
        if (entry == nullptr) {
            std::string dirs;
            for (const auto& dir : in.config->runtime.cdi_spec_dirs) {
                dirs += (dirs.empty() ? "" : ", ") + dir;
            }
            throw SpecError(request.field + " " + quoted_value(request.name) + ": no CDI spec in " +
                            (dirs.empty() ? "no directory" : dirs) + " defines this device");
        }
        try {
            if (applied_specs.insert(entry->spec.get()).second) {
                cdi::apply_edits(entry->spec->edits, spec);
            }
            cdi::apply_edits(entry->device->edits, spec);
        } catch (const cdi::EditError& error) {
            throw SpecError(request.field + " " + quoted_value(request.name) + " (" +
                            entry->spec->path + "): " + error.what());
        }
        spdlog::debug("container {}: CDI device {} from {}", in.container_id, request.name,
                      entry->spec->path);
    }
}

}  // namespace berth::daemon::container
