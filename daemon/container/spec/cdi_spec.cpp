#include "container/spec/cdi_spec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <set>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "quoted_value.hpp"
#include "request_paths.hpp"

namespace berth::daemon::container::cdi {

namespace {

using nlohmann::json;

// The versions whose every field Berth applies (1.1.0 adds network devices).
// Ordered oldest first: an index compares versions.
constexpr std::array<std::string_view, 7> kVersions = {"0.3.0", "0.4.0", "0.5.0", "0.6.0",
                                                       "0.7.0", "0.8.0", "1.0.0"};

std::size_t version_index(std::string_view version) {
    return static_cast<std::size_t>(std::find(kVersions.begin(), kVersions.end(), version) -
                                    kVersions.begin());
}

[[noreturn]] void fail(const std::string& where, const std::string& problem) {
    throw SpecFileError(where.empty() ? problem : where + ": " + problem);
}

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
    return is_letter(c) || (c >= '0' && c <= '9');
}

// The CDI naming rules: vendor and class start with a letter, device names
// with a letter or digit; all end alphanumeric, with '_', '-', '.' (and ':'
// in device names) in between. "" when fine, else why not.
std::string name_problem(std::string_view name, bool device) {
    if (name.empty()) {
        return "is empty";
    }
    if (device ? !is_alnum(name.front()) : !is_letter(name.front())) {
        return device ? "must start with a letter or digit" : "must start with a letter";
    }
    if (!is_alnum(name.back())) {
        return "must end with a letter or digit";
    }
    for (const char c : name) {
        if (!is_alnum(c) && c != '_' && c != '-' && c != '.' && !(device && c == ':')) {
            return "may only hold letters, digits, '_', '-', '.'" +
                   std::string(device ? " and ':'" : "");
        }
    }
    return "";
}

// YAML scalars become JSON strings (null for an empty or "~" plain scalar):
// the reader below converts a string to a number or boolean where a field
// wants one, as the reference reads YAML by the field's type.
json yaml_to_json(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Sequence: {
        json array = json::array();
        for (const auto& item : node) {
            array.push_back(yaml_to_json(item));
        }
        return array;
    }
    case YAML::NodeType::Map: {
        json object = json::object();
        for (const auto& item : node) {
            object[item.first.Scalar()] = yaml_to_json(item.second);
        }
        return object;
    }
    case YAML::NodeType::Scalar: {
        const std::string& text = node.Scalar();
        if (node.Tag() == "?" &&
            (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")) {
            return nullptr;
        }
        return text;
    }
    default:
        return nullptr;
    }
}

// YAML 1.1 integers, as the reference's YAML library reads them: decimal,
// 0x hex, 0o or leading-zero octal.
std::optional<std::int64_t> yaml_integer(std::string_view text) {
    bool negative = false;
    if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
        negative = text.front() == '-';
        text.remove_prefix(1);
    }
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    } else if (text.size() > 2 && text[0] == '0' && text[1] == 'o') {
        base = 8;
        text.remove_prefix(2);
    } else if (text.size() > 1 && text[0] == '0') {
        base = 8;
        text.remove_prefix(1);
    }
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return negative ? -value : value;
}

// Reads fields from the parsed document, naming each by its place
// ("devices[0].containerEdits.deviceNodes[1].path") in every error.
class Reader {
public:
    explicit Reader(bool yaml) : yaml_(yaml) {}

    // The members of an object, refusing unknown ones as the reference does
    // (a misspelt field would otherwise be silently ignored).
    const json& object(const json& value, const std::string& where,
                       std::initializer_list<std::string_view> known) const {
        if (!value.is_object()) {
            fail(where, "must be an object");
        }
        for (const auto& [key, member] : value.items()) {
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                fail(join(where, key), "is not a CDI field");
            }
        }
        return value;
    }

    static bool present(const json& object, const char* key) {
        const auto found = object.find(key);
        return found != object.end() && !found->is_null();
    }

    std::string string(const json& object, const char* key, const std::string& where,
                       bool required = false) const {
        if (!present(object, key)) {
            if (required) {
                fail(join(where, key), "is missing");
            }
            return "";
        }
        const json& value = object.at(key);
        if (!value.is_string()) {
            fail(join(where, key), "must be a string");
        }
        return value.get<std::string>();
    }

    std::vector<std::string> strings(const json& object, const char* key,
                                     const std::string& where) const {
        std::vector<std::string> out;
        if (!present(object, key)) {
            return out;
        }
        const json& value = object.at(key);
        if (!value.is_array()) {
            fail(join(where, key), "must be a list of strings");
        }
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (!value[i].is_string()) {
                fail(join(where, key) + "[" + std::to_string(i) + "]", "must be a string");
            }
            out.push_back(value[i].get<std::string>());
        }
        return out;
    }

    std::optional<std::int64_t> integer(const json& value, const std::string& where,
                                        std::int64_t low, std::int64_t high) const {
        if (value.is_null()) {
            return std::nullopt;
        }
        std::optional<std::int64_t> number;
        if (value.is_number_integer()) {
            number = value.get<std::int64_t>();
            if (value.is_number_unsigned() &&
                value.get<std::uint64_t>() >
                    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                number = std::nullopt;
            }
        } else if (yaml_ && value.is_string()) {
            number = yaml_integer(value.get<std::string>());
        }
        if (!number) {
            fail(where, "must be an integer");
        }
        if (*number < low || *number > high) {
            fail(where, "must be between " + std::to_string(low) + " and " + std::to_string(high) +
                            ", not " + std::to_string(*number));
        }
        return number;
    }

    std::optional<std::int64_t> integer(const json& object, const char* key,
                                        const std::string& where, std::int64_t low,
                                        std::int64_t high) const {
        return present(object, key) ? integer(object.at(key), join(where, key), low, high)
                                    : std::nullopt;
    }

    bool boolean(const json& object, const char* key, const std::string& where) const {
        if (!present(object, key)) {
            return false;
        }
        const json& value = object.at(key);
        if (value.is_boolean()) {
            return value.get<bool>();
        }
        if (yaml_ && value.is_string()) {
            const auto text = value.get<std::string>();
            if (text == "true" || text == "True" || text == "TRUE") {
                return true;
            }
            if (text == "false" || text == "False" || text == "FALSE") {
                return false;
            }
        }
        fail(join(where, key), "must be true or false");
    }

    // An array member: each element with its place.
    template <typename Each>
    void each(const json& object, const char* key, const std::string& where, Each&& visit) const {
        if (!present(object, key)) {
            return;
        }
        const json& value = object.at(key);
        if (!value.is_array()) {
            fail(join(where, key), "must be a list");
        }
        for (std::size_t i = 0; i < value.size(); ++i) {
            visit(value[i], join(where, key) + "[" + std::to_string(i) + "]");
        }
    }

    static std::string join(const std::string& where, std::string_view key) {
        return where.empty() ? std::string(key) : where + "." + std::string(key);
    }

private:
    bool yaml_;
};

constexpr std::int64_t kUint32Max = std::numeric_limits<std::uint32_t>::max();

// Paths from a spec are written by root and trusted, but must still name
// one place: absolute, no "..", no control characters.
void require_path(const std::string& where, const std::string& path) {
    if (const auto problem = request_paths::absolute_path_problem(path); !problem.empty()) {
        fail(where, quoted_value(path) + " " + problem);
    }
}

void require_env(const std::string& where, const std::string& entry) {
    if (entry.find('=') == std::string::npos || entry.front() == '=') {
        fail(where, quoted_value(entry) + " is not NAME=value");
    }
    if (entry.find('\0') != std::string::npos) {
        fail(where, quoted_value(entry) + " holds a NUL byte");
    }
}

// What each decoded part needs of the spec's version, as the spec's
// changelog lists the fields' first versions.
struct Requirements {
    std::size_t minimum = 0;
    std::string why;
    void need(std::string_view version, const std::string& reason) {
        const std::size_t index = version_index(version);
        if (index > minimum) {
            minimum = index;
            why = reason;
        }
    }
};

DeviceNode decode_device_node(const Reader& r, const json& value, const std::string& where,
                              Requirements& needs) {
    r.object(
        value, where,
        {"path", "hostPath", "type", "major", "minor", "fileMode", "permissions", "uid", "gid"});
    DeviceNode node;
    node.path = r.string(value, "path", where, true);
    require_path(where + ".path", node.path);
    node.host_path = r.string(value, "hostPath", where);
    if (!node.host_path.empty()) {
        require_path(where + ".hostPath", node.host_path);
        needs.need("0.5.0", where + ".hostPath");
    }
    node.type = r.string(value, "type", where);
    if (node.type != "" && node.type != "b" && node.type != "c" && node.type != "u" &&
        node.type != "p") {
        fail(where + ".type", quoted_value(node.type) + " is not one of b, c, u, p");
    }
    node.major = r.integer(value, "major", where, 0, std::numeric_limits<std::int64_t>::max());
    node.minor = r.integer(value, "minor", where, 0, std::numeric_limits<std::int64_t>::max());
    if (const auto mode = r.integer(value, "fileMode", where, 0, kUint32Max)) {
        node.file_mode = static_cast<std::uint32_t>(*mode);
    }
    if (const auto uid = r.integer(value, "uid", where, 0, kUint32Max)) {
        node.uid = static_cast<std::uint32_t>(*uid);
    }
    if (const auto gid = r.integer(value, "gid", where, 0, kUint32Max)) {
        node.gid = static_cast<std::uint32_t>(*gid);
    }
    node.permissions = r.string(value, "permissions", where);
    if (!node.permissions.empty() && node.permissions != "none" &&
        node.permissions.find_first_not_of("rwm") != std::string::npos) {
        fail(where + ".permissions",
             quoted_value(node.permissions) + " may only hold r, w and m (or be \"none\")");
    }
    return node;
}

Mount decode_mount(const Reader& r, const json& value, const std::string& where,
                   Requirements& needs) {
    r.object(value, where, {"hostPath", "containerPath", "type", "options"});
    Mount mount;
    mount.host_path = r.string(value, "hostPath", where, true);
    require_path(where + ".hostPath", mount.host_path);
    mount.container_path = r.string(value, "containerPath", where, true);
    require_path(where + ".containerPath", mount.container_path);
    mount.type = r.string(value, "type", where);
    if (!mount.type.empty()) {
        needs.need("0.4.0", where + ".type");
    }
    mount.options = r.strings(value, "options", where);
    return mount;
}

Hook decode_hook(const Reader& r, const json& value, const std::string& where) {
    r.object(value, where, {"hookName", "path", "args", "env", "timeout"});
    Hook hook;
    hook.hook_name = r.string(value, "hookName", where, true);
    static const std::set<std::string> kHooks = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
    if (kHooks.count(hook.hook_name) == 0) {
        fail(where + ".hookName", quoted_value(hook.hook_name) +
                                      " is not one of prestart, createRuntime, createContainer, "
                                      "startContainer, poststart, poststop");
    }
    hook.path = r.string(value, "path", where, true);
    require_path(where + ".path", hook.path);
    hook.args = r.strings(value, "args", where);
    hook.env = r.strings(value, "env", where);
    for (std::size_t i = 0; i < hook.env.size(); ++i) {
        require_env(where + ".env[" + std::to_string(i) + "]", hook.env[i]);
    }
    hook.timeout = r.integer(value, "timeout", where, 1, std::numeric_limits<int>::max());
    return hook;
}

IntelRdt decode_intel_rdt(const Reader& r, const json& value, const std::string& where) {
    r.object(value, where, {"closID", "l3CacheSchema", "memBwSchema", "enableCMT", "enableMBM"});
    IntelRdt rdt;
    rdt.clos_id = r.string(value, "closID", where);
    // A directory name under /sys/fs/resctrl ("/" is the root class).
    if (rdt.clos_id != "/" &&
        (rdt.clos_id == "." || rdt.clos_id == ".." ||
         rdt.clos_id.find_first_of("/\n") != std::string::npos || rdt.clos_id.size() >= 4096)) {
        fail(where + ".closID", quoted_value(rdt.clos_id) + " is not a valid class name");
    }
    rdt.l3_cache_schema = r.string(value, "l3CacheSchema", where);
    rdt.mem_bw_schema = r.string(value, "memBwSchema", where);
    rdt.enable_cmt = r.boolean(value, "enableCMT", where);
    rdt.enable_mbm = r.boolean(value, "enableMBM", where);
    return rdt;
}

ContainerEdits decode_edits(const Reader& r, const json& value, const std::string& where,
                            Requirements& needs) {
    ContainerEdits edits;
    if (value.is_null()) {
        return edits;
    }
    r.object(value, where, {"env", "deviceNodes", "mounts", "hooks", "additionalGids", "intelRdt"});
    edits.env = r.strings(value, "env", where);
    for (std::size_t i = 0; i < edits.env.size(); ++i) {
        require_env(where + ".env[" + std::to_string(i) + "]", edits.env[i]);
    }
    r.each(value, "deviceNodes", where, [&](const json& item, const std::string& at) {
        edits.device_nodes.push_back(decode_device_node(r, item, at, needs));
    });
    r.each(value, "mounts", where, [&](const json& item, const std::string& at) {
        edits.mounts.push_back(decode_mount(r, item, at, needs));
    });
    r.each(value, "hooks", where, [&](const json& item, const std::string& at) {
        edits.hooks.push_back(decode_hook(r, item, at));
    });
    r.each(value, "additionalGids", where, [&](const json& item, const std::string& at) {
        edits.additional_gids.push_back(
            static_cast<std::uint32_t>(*r.integer(item, at, 0, kUint32Max)));
        needs.need("0.7.0", at);
    });
    if (Reader::present(value, "intelRdt")) {
        edits.intel_rdt = decode_intel_rdt(r, value.at("intelRdt"), where + ".intelRdt");
        needs.need("0.7.0", where + ".intelRdt");
    }
    return edits;
}

void check_annotations(const Reader& r, const json& object, const std::string& where,
                       Requirements& needs) {
    if (!Reader::present(object, "annotations")) {
        return;
    }
    const json& annotations = object.at("annotations");
    const std::string at = Reader::join(where, "annotations");
    if (!annotations.is_object()) {
        fail(at, "must be a map of strings");
    }
    for (const auto& [key, value] : annotations.items()) {
        r.string(annotations, key.c_str(), at);
    }
    if (!annotations.empty()) {
        needs.need("0.6.0", at);
    }
}

json parse_document(const std::string& text, SpecFormat format) {
    if (format == SpecFormat::Json) {
        try {
            return json::parse(text);
        } catch (const json::exception& error) {
            fail("", std::string("not valid JSON: ") + error.what());
        }
    }
    try {
        return yaml_to_json(YAML::Load(text));
    } catch (const YAML::Exception& error) {
        fail("", std::string("not valid YAML: ") + error.what());
    }
}

}  // namespace

void ContainerEdits::append(const ContainerEdits& other) {
    env.insert(env.end(), other.env.begin(), other.env.end());
    device_nodes.insert(device_nodes.end(), other.device_nodes.begin(), other.device_nodes.end());
    mounts.insert(mounts.end(), other.mounts.begin(), other.mounts.end());
    hooks.insert(hooks.end(), other.hooks.begin(), other.hooks.end());
    additional_gids.insert(additional_gids.end(), other.additional_gids.begin(),
                           other.additional_gids.end());
    if (other.intel_rdt) {
        intel_rdt = other.intel_rdt;
    }
}

std::optional<SpecFormat> spec_format_of(std::string_view file_name) {
    const auto ends_with = [&](std::string_view suffix) {
        return file_name.size() > suffix.size() &&
               file_name.substr(file_name.size() - suffix.size()) == suffix;
    };
    if (ends_with(".json")) {
        return SpecFormat::Json;
    }
    if (ends_with(".yaml") || ends_with(".yml")) {
        return SpecFormat::Yaml;
    }
    return std::nullopt;
}

Spec parse_spec(const std::string& text, SpecFormat format, const std::string& path) {
    const Reader r(format == SpecFormat::Yaml);
    const json document = parse_document(text, format);
    r.object(document, "", {"cdiVersion", "kind", "annotations", "devices", "containerEdits"});

    Spec spec;
    spec.path = path;
    spec.version = r.string(document, "cdiVersion", "", true);
    const std::string version =
        spec.version.rfind('v', 0) == 0 ? spec.version.substr(1) : spec.version;
    const std::size_t declared = version_index(version);
    if (declared == kVersions.size()) {
        fail("cdiVersion", quoted_value(spec.version) + " is not a supported version (" +
                               std::string(kVersions.front()) + " to " +
                               std::string(kVersions.back()) + ")");
    }

    Requirements needs;
    spec.kind = r.string(document, "kind", "", true);
    const auto slash = spec.kind.find('/');
    if (slash == std::string::npos) {
        fail("kind", quoted_value(spec.kind) + " is not of the form vendor.com/class");
    }
    const std::string vendor = spec.kind.substr(0, slash);
    const std::string kind_class = spec.kind.substr(slash + 1);
    if (const auto problem = name_problem(vendor, false); !problem.empty()) {
        fail("kind", "vendor " + quoted_value(vendor) + " " + problem);
    }
    if (const auto problem = name_problem(kind_class, false); !problem.empty()) {
        fail("kind", "class " + quoted_value(kind_class) + " " + problem);
    }
    if (kind_class.find('.') != std::string::npos) {
        needs.need("0.6.0", "a '.' in the class of kind");
    }
    check_annotations(r, document, "", needs);
    spec.edits = decode_edits(
        r, Reader::present(document, "containerEdits") ? document.at("containerEdits") : json(),
        "containerEdits", needs);

    std::set<std::string> names;
    r.each(document, "devices", "", [&](const json& item, const std::string& at) {
        r.object(item, at, {"name", "annotations", "containerEdits"});
        Device device;
        device.name = r.string(item, "name", at, true);
        if (const auto problem = name_problem(device.name, true); !problem.empty()) {
            fail(at + ".name", quoted_value(device.name) + " " + problem);
        }
        if (device.name.front() >= '0' && device.name.front() <= '9') {
            needs.need("0.5.0", at + ".name starting with a digit");
        }
        if (!names.insert(device.name).second) {
            fail(at + ".name", quoted_value(device.name) + " is defined twice");
        }
        check_annotations(r, item, at, needs);
        device.edits = decode_edits(
            r, Reader::present(item, "containerEdits") ? item.at("containerEdits") : json(),
            at + ".containerEdits", needs);
        if (device.edits.empty()) {
            fail(at + ".containerEdits", "a device needs at least one edit");
        }
        spec.devices.push_back(std::move(device));
    });
    if (spec.devices.empty()) {
        fail("devices", "a spec needs at least one device");
    }
    if (needs.minimum > declared) {
        fail("cdiVersion", quoted_value(spec.version) + " is too old for " + needs.why +
                               " (needs " + std::string(kVersions[needs.minimum]) + ")");
    }
    return spec;
}

QualifiedName parse_qualified_name(std::string_view qualified) {
    QualifiedName result;
    const auto equals = qualified.find('=');
    const auto slash = qualified.find('/');
    if (equals == std::string_view::npos || slash == std::string_view::npos || slash > equals) {
        result.problem = "is not a fully qualified CDI device name (vendor.com/class=name)";
        return result;
    }
    const auto vendor = qualified.substr(0, slash);
    const auto kind_class = qualified.substr(slash + 1, equals - slash - 1);
    const auto name = qualified.substr(equals + 1);
    for (const auto& [part, value, device] :
         {std::tuple{"vendor", vendor, false}, std::tuple{"class", kind_class, false},
          std::tuple{"device name", name, true}}) {
        if (const auto problem = name_problem(value, device); !problem.empty()) {
            result.problem = "is not a fully qualified CDI device name (vendor.com/class=name): " +
                             std::string(part) + " " + quoted_value(value) + " " + problem;
            return result;
        }
    }
    result.kind = std::string(qualified.substr(0, equals));
    result.name = std::string(name);
    return result;
}

}  // namespace berth::daemon::container::cdi
