#include "test_registry.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace berth::test {

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Debian's packages, by absolute path: ChildProcess uses execv, and the
// pyenv or other python3 a developer may have first in PATH is not the one
// the scripts are written for.
constexpr const char* kRegistryBinary = "/usr/bin/docker-registry";
constexpr const char* kSkopeoBinary = "/usr/bin/skopeo";
constexpr const char* kHtpasswdBinary = "/usr/bin/htpasswd";
constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kBusybox = "/bin/busybox";

std::string fixtures_dir() {
    return BERTH_FIXTURES_DIR;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

// Assigned field by field: GCC 12 warns about designated initializers that
// leave out members, even ones with defaults.
ChildOptions child_options(std::vector<std::string> argv, const std::string& out,
                           const std::string& err) {
    ChildOptions options;
    options.argv = std::move(argv);
    options.stdout_file = out;
    options.stderr_file = err;
    return options;
}

// Runs argv to completion with output in files; the exit code, or -1 when it
// did not finish in time (it is then killed by ChildProcess's destructor).
int run_to_files(const std::vector<std::string>& argv, const std::string& out,
                 const std::string& err, milliseconds timeout) {
    ChildProcess child(child_options(argv, out, err));
    return child.wait_for_exit(timeout).value_or(-1);
}

int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("socket failed");
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        port = ntohs(address.sin_port);
    }
    close(fd);
    if (port == 0) {
        throw std::runtime_error("no free port");
    }
    return port;
}

std::string local(int port) {
    return "127.0.0.1:" + std::to_string(port);
}

// Builder output is reused across test processes: the key changes whenever
// the builder or the busybox it packs changes, so a stale cache is never used.
std::string cache_key(const std::vector<std::string>& builder_args) {
    std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a
    auto mix = [&hash](const std::string& bytes) {
        for (unsigned char c : bytes) {
            hash = (hash ^ c) * 1099511628211ULL;
        }
        hash = (hash ^ 0xff) * 1099511628211ULL;
    };
    mix(slurp(fixtures_dir() + "/make_test_images.py"));
    struct stat busybox {};
    if (stat(kBusybox, &busybox) == 0) {
        mix(std::to_string(busybox.st_size) + ":" + std::to_string(busybox.st_mtime));
    }
    for (const auto& arg : builder_args) {
        mix(arg);
    }
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
    return hex;
}

struct BuiltImages {
    std::string dir;
    nlohmann::json json;
};

BuiltImages build_images(const std::vector<std::string>& builder_args) {
    const fs::path tmp = fs::temp_directory_path();
    const std::string final_dir = (tmp / ("berth-test-images-" + cache_key(builder_args))).string();
    const std::string json_file = final_dir + "/images.json";
    if (fs::exists(json_file)) {
        return {final_dir, nlohmann::json::parse(slurp(json_file))};
    }
    // Built aside and renamed into place, so that concurrent test processes
    // never see half an image and the loser of a race just uses the winner's.
    std::string staging = (tmp / "berth-test-images-build-XXXXXX").string();
    if (mkdtemp(staging.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    std::vector<std::string> argv = {kPython, fixtures_dir() + "/make_test_images.py"};
    argv.insert(argv.end(), builder_args.begin(), builder_args.end());
    argv.push_back(staging);
    const int code =
        run_to_files(argv, staging + "/images.json", staging + "/build.log", seconds(600));
    std::error_code ignored;
    if (code != 0) {
        const std::string output = slurp(staging + "/build.log");
        fs::remove_all(staging, ignored);
        throw std::runtime_error("make_test_images.py failed (" + std::to_string(code) +
                                 "): " + output);
    }
    if (rename(staging.c_str(), final_dir.c_str()) != 0) {
        fs::remove_all(staging, ignored);
    }
    return {final_dir, nlohmann::json::parse(slurp(json_file))};
}

const BuiltImages& standard_images() {
    static std::mutex mutex;
    static std::unique_ptr<BuiltImages> built;
    std::lock_guard lock(mutex);
    if (!built) {
        built = std::make_unique<BuiltImages>(build_images({}));
    }
    return *built;
}

std::string registry_config(const std::string& root, int port, const std::string& htpasswd) {
    std::string config =
        "version: 0.1\n"
        "log:\n"
        "  level: info\n"
        "  accesslog:\n"
        "    disabled: false\n"
        "storage:\n"
        "  filesystem:\n"
        "    rootdirectory: " +
        root +
        "\n"
        "  delete:\n"
        "    enabled: true\n"
        "  maintenance:\n"
        "    uploadpurging:\n"
        "      enabled: false\n"
        "http:\n"
        "  addr: " +
        local(port) +
        "\n"
        "  secret: berth-test-secret\n";
    if (!htpasswd.empty()) {
        // distribution 2.8 accepts htpasswd over plain HTTP (only its docs
        // ask for TLS), so no certificates are needed.
        config +=
            "auth:\n"
            "  htpasswd:\n"
            "    realm: berth-test\n"
            "    path: " +
            htpasswd + "\n";
    }
    return config;
}

bool wait_until(const std::function<bool()>& condition, milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
    return true;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

TestRegistry::TestRegistry(RegistryOptions options) : options_(std::move(options)) {}

TestRegistry::~TestRegistry() {
    // The proxy first: it holds connections to the registry.
    proxy_.reset();
    registry_.reset();
}

bool TestRegistry::start() {
    for (const char* binary : {kRegistryBinary, kSkopeoBinary, kPython}) {
        if (access(binary, X_OK) != 0) {
            failure_ += std::string(binary) + " is not installed\n";
            return false;
        }
    }
    // Our own skopeo policy and an empty auth file: the machine's
    // /etc/containers/policy.json and a developer's credentials play no part.
    // Written once here, as concurrent pushes read them.
    dir_.write("skopeo/policy.json", R"({"default":[{"type":"insecureAcceptAnything"}]})");
    dir_.write("skopeo/auth.json", "{}");
    if (!start_registry()) {
        return false;
    }
    return options_.auth != RegistryAuth::Bearer || start_proxy();
}

bool TestRegistry::start_registry() {
    std::string htpasswd;
    if (options_.auth == RegistryAuth::Basic) {
        htpasswd = dir_ / "htpasswd";
        const int code = run_to_files({kHtpasswdBinary, "-Bbn", options_.user, options_.password},
                                      htpasswd, dir_ / "htpasswd.err", seconds(30));
        if (code != 0) {
            failure_ += "htpasswd failed: " + slurp(dir_ / "htpasswd.err") + "\n";
            return false;
        }
    }
    // The port is chosen before the registry binds it, so another process
    // can take it in between; that shows as an early exit and we try again.
    for (int attempt = 0; attempt < 5; ++attempt) {
        registry_port_ = free_port();
        const std::string config =
            dir_.write("registry.yml", registry_config(dir_ / "storage", registry_port_, htpasswd));
        registry_ = std::make_unique<ChildProcess>(child_options(
            {kRegistryBinary, "serve", config}, dir_ / "access.log", dir_ / "registry.log"));
        const bool up = wait_until(
            [&] {
                if (!registry_->running()) {
                    return true;
                }
                const int status = http_get(local(registry_port_), "/v2/").status;
                return status == 200 || status == 401;
            },
            seconds(20));
        if (up && registry_->running()) {
            return true;
        }
        const std::string output = slurp(dir_ / "registry.log");
        registry_.reset();
        if (output.find("address already in use") == std::string::npos) {
            failure_ += up ? "docker-registry exited during start-up\n"
                           : "docker-registry did not answer GET /v2/ within 20 s\n";
            return false;
        }
    }
    failure_ += "docker-registry found no free port\n";
    return false;
}

bool TestRegistry::start_proxy() {
    proxy_ = std::make_unique<ChildProcess>(child_options(
        {kPython, fixtures_dir() + "/bearer_proxy.py", "--backend", local(registry_port_),
         "--listen", "127.0.0.1:0", "--user", options_.user, "--password", options_.password},
        dir_ / "proxy.out", dir_ / "proxy.log"));
    // The proxy binds port 0 itself and reports it, so it cannot lose a race.
    const bool reported = wait_until(
        [&] {
            const std::string out = slurp(dir_ / "proxy.out");
            if (out.rfind("PORT ", 0) == 0 && out.find('\n') != std::string::npos) {
                proxy_port_ = std::stoi(out.substr(5));
                return true;
            }
            return !proxy_->running();
        },
        seconds(20));
    if (!reported || proxy_port_ == 0) {
        failure_ += "bearer_proxy.py did not start\n";
        return false;
    }
    if (!wait_until([&] { return http_get(host(), "/v2/").status == 401; }, seconds(10))) {
        failure_ += "bearer_proxy.py does not answer GET /v2/ with 401\n";
        return false;
    }
    return true;
}

std::string TestRegistry::host() const {
    return local(options_.auth == RegistryAuth::Bearer ? proxy_port_ : registry_port_);
}

std::string TestRegistry::backend_host() const {
    return local(registry_port_);
}

const nlohmann::json& TestRegistry::images() {
    return standard_images().json;
}

std::vector<std::string> TestRegistry::skopeo_args(const std::string& layout_dir,
                                                   const nlohmann::json& entry,
                                                   const std::string& as) const {
    const std::string policy = dir_ / "skopeo/policy.json";
    const std::string authfile = dir_ / "skopeo/auth.json";
    std::vector<std::string> argv = {kSkopeoBinary, "--policy", policy, "copy", "--quiet",
                                     // Without it skopeo would gzip the plain
                                     // layer of busybox:zstd and change digests.
                                     "--preserve-digests", "--dest-tls-verify=false",
                                     "--dest-authfile", authfile};
    if (entry.value("index", false)) {
        argv.push_back("--all");
    }
    if (options_.auth == RegistryAuth::Basic) {
        argv.push_back("--dest-creds");
        argv.push_back(options_.user + ":" + options_.password);
    }
    argv.push_back("oci:" + layout_dir + "/" + entry.at("layout").get<std::string>() + ":" +
                   entry.at("tag").get<std::string>());
    // Bearer mode pushes past the proxy: it only needs to serve pulls.
    argv.push_back("docker://" + backend_host() + "/" + as);
    return argv;
}

std::string TestRegistry::next_log_name() {
    static std::atomic<int> counter{0};
    return dir_ / ("skopeo/push-" + std::to_string(counter++));
}

void TestRegistry::copy_image(const std::string& layout_dir, const nlohmann::json& entry,
                              const std::string& as) {
    const std::string output = next_log_name();
    const int code = run_to_files(skopeo_args(layout_dir, entry, as), output + ".out",
                                  output + ".err", seconds(300));
    if (code != 0) {
        throw std::runtime_error("skopeo copy to " + as + " failed (" + std::to_string(code) +
                                 "): " + slurp(output + ".out") + slurp(output + ".err"));
    }
}

std::string TestRegistry::layout_directory(const std::string& image) {
    const auto& built = standard_images();
    return built.dir + "/" + built.json.at(image).at("layout").get<std::string>();
}

void TestRegistry::push(const std::string& image, const std::string& as) {
    const auto& built = standard_images();
    if (!built.json.contains(image)) {
        throw std::runtime_error("no test image named " + image);
    }
    copy_image(built.dir, built.json.at(image), as.empty() ? image : as);
}

void TestRegistry::push_all() {
    const auto& built = standard_images();
    // One skopeo per image, all at once: each push is mostly round trips.
    std::vector<std::pair<std::string, std::unique_ptr<ChildProcess>>> pushes;
    for (const auto& [image, entry] : built.json.items()) {
        const std::string output = next_log_name();
        pushes.emplace_back(
            output, std::make_unique<ChildProcess>(child_options(
                        skopeo_args(built.dir, entry, image), output + ".out", output + ".err")));
    }
    std::string failures;
    for (auto& [output, child] : pushes) {
        const int code = child->wait_for_exit(seconds(300)).value_or(-1);
        if (code != 0) {
            failures += "skopeo failed (" + std::to_string(code) + "): " + slurp(output + ".out") +
                        slurp(output + ".err") + "\n";
        }
    }
    if (!failures.empty()) {
        throw std::runtime_error(failures);
    }
}

nlohmann::json TestRegistry::push_big(int mib, const std::string& as) {
    static std::mutex mutex;
    static std::map<int, BuiltImages> built;
    std::unique_lock lock(mutex);
    auto found = built.find(mib);
    if (found == built.end()) {
        found = built.emplace(mib, build_images({"--big", std::to_string(mib)})).first;
    }
    const BuiltImages images = found->second;
    lock.unlock();
    copy_image(images.dir, images.json.at("big:1"), as);
    return images.json.at("big:1");
}

std::string TestRegistry::blob_data_path(const std::string& digest) const {
    const auto colon = digest.find(':');
    if (colon == std::string::npos || digest.size() < colon + 3) {
        throw std::runtime_error("not a digest: " + digest);
    }
    const std::string algorithm = digest.substr(0, colon);
    const std::string hex = digest.substr(colon + 1);
    // distribution's filesystem driver layout (registry/storage/paths.go).
    return dir_ / ("storage/docker/registry/v2/blobs/" + algorithm + "/" + hex.substr(0, 2) + "/" +
                   hex + "/data");
}

void TestRegistry::corrupt_blob(const std::string& digest) {
    const std::string path = blob_data_path(digest);
    if (!fs::exists(path)) {
        throw std::runtime_error("blob not stored in the registry: " + digest);
    }
    std::string bytes = slurp(path);
    if (bytes.empty()) {
        throw std::runtime_error("blob not stored in the registry: " + digest);
    }
    // Inverting every byte keeps the size, so only a digest check can notice.
    for (auto& byte : bytes) {
        byte = static_cast<char>(~static_cast<unsigned char>(byte));
    }
    std::ofstream out(path, std::ios::binary | std::ios::in | std::ios::out);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) {
        throw std::runtime_error("cannot rewrite " + path);
    }
}

int TestRegistry::count_requests(const std::string& needle) const {
    // The registry logs a request as its handler finishes, which can be just
    // after the client has its last byte; let the log settle before counting.
    auto count = [&] {
        const std::string log = slurp(dir_ / "access.log");
        int found = 0;
        std::istringstream lines(log);
        for (std::string line; std::getline(lines, line);) {
            if (line.find(needle) != std::string::npos) {
                ++found;
            }
        }
        return found;
    };
    int previous = count();
    for (int round = 0; round < 20; ++round) {
        std::this_thread::sleep_for(milliseconds(50));
        const int now = count();
        if (now == previous) {
            break;
        }
        previous = now;
    }
    return previous;
}

std::string TestRegistry::log() const {
    std::string text = failure_;
    for (const char* name : {"registry.log", "access.log", "proxy.log"}) {
        const std::string path = dir_ / name;
        if (fs::exists(path)) {
            text += std::string("--- ") + name + "\n" + slurp(path);
        }
    }
    return text;
}

std::string HttpResponse::header(const std::string& name) const {
    const auto found = headers.find(lower(name));
    return found == headers.end() ? "" : found->second;
}

HttpResponse http_request(const std::string& host_port, const std::string& method,
                          const std::string& target,
                          const std::map<std::string, std::string>& headers) {
    HttpResponse response;
    const auto colon = host_port.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
    if (inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &address.sin_addr) != 1) {
        return response;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return response;
    }
    // A hung server fails the test instead of hanging it.
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        close(fd);
        return response;
    }
    // HTTP/1.0: the server closes after one response, so the body ends at
    // EOF and neither chunked encoding nor keep-alive needs handling.
    std::string request = method + " " + target + " HTTP/1.0\r\nHost: " + host_port + "\r\n";
    for (const auto& [name, value] : headers) {
        request += name + ": " + value + "\r\n";
    }
    request += "\r\n";
    std::size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0 && errno != EINTR) {
            close(fd);
            return response;
        }
        sent += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    std::string raw;
    char buffer[65536];
    for (;;) {
        const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n > 0) {
            raw.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    close(fd);

    const auto head_end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/", 0) != 0 || head_end == std::string::npos) {
        return response;
    }
    std::istringstream head(raw.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    const auto space = line.find(' ');
    response.status = space == std::string::npos ? 0 : std::atoi(line.c_str() + space + 1);
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        const auto separator = line.find(':');
        if (separator == std::string::npos) {
            continue;
        }
        std::string value = line.substr(separator + 1);
        value.erase(0, value.find_first_not_of(' '));
        response.headers[lower(line.substr(0, separator))] = value;
    }
    response.body = raw.substr(head_end + 4);
    return response;
}

}  // namespace berth::test
