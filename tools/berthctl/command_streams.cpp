// exec, attach and port-forward: the CRI call for a streaming URL, then the
// session over SPDY (crictl's default) or WebSocket (--transport websocket).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

#include "berth/cri_api.hpp"
#include "berth/stream/http_upgrade_client.hpp"
#include "berth/stream/remote_command_client.hpp"
#include "commands.hpp"

namespace berth::ctl {

namespace v1 = ::runtime::v1;

namespace {

// The local terminal in raw mode while a tty session runs, so that keys
// (^C included) go to the container; restored on every way out.
class RawTerminal {
public:
    explicit RawTerminal(int fd) : fd_(fd) {
        if (::isatty(fd_) && ::tcgetattr(fd_, &saved_) == 0) {
            termios raw = saved_;
            ::cfmakeraw(&raw);
            active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
        }
    }
    ~RawTerminal() {
        if (active_)
            ::tcsetattr(fd_, TCSANOW, &saved_);
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

std::optional<stream::TerminalSize> local_terminal_size() {
    winsize size{};
    for (const int fd : {STDOUT_FILENO, STDIN_FILENO, STDERR_FILENO}) {
        if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
            return stream::TerminalSize{size.ws_col, size.ws_row};
    }
    return std::nullopt;
}

stream::StreamClientOptions stream_options(const std::string& transport) {
    stream::StreamClientOptions options;
    if (transport == "websocket")
        options.websocket = true;
    else if (transport != "spdy")
        throw CommandFailed("--transport must be spdy or websocket, not " + transport);
    return options;
}

// Runs the session with berthctl's own stdio; returns the exit status.
int run_session(const std::string& url, bool stdin, bool tty, const std::string& transport) {
    stream::RemoteCommandIo io;
    io.stdin_fd = stdin ? STDIN_FILENO : -1;
    io.stdout_fd = STDOUT_FILENO;
    io.stderr_fd = tty ? -1 : STDERR_FILENO;
    io.tty = tty;
    if (tty) {
        io.next_resize = [] { return local_terminal_size(); };
    }
    stream::CommandOutcome outcome;
    {
        std::unique_ptr<RawTerminal> raw;
        if (tty && stdin)
            raw = std::make_unique<RawTerminal>(STDIN_FILENO);
        try {
            outcome = stream::run_remote_command(url, io, stream_options(transport));
        } catch (const stream::HttpUpgradeError& error) {
            throw CommandFailed(error.what());
        }
    }
    if (outcome.success)
        return 0;
    if (outcome.exit_code)
        return *outcome.exit_code;
    throw CommandFailed(outcome.message.empty() ? "the session failed" : outcome.message);
}

struct ExecFlags {
    std::string container;
    std::vector<std::string> command;
    bool interactive = false;
    bool tty = false;
    bool sync = false;
    std::int64_t timeout = 0;
    bool ignore_errors = false;
    std::string transport = "spdy";
};

int exec_sync(Client& client, const ExecFlags& flags) {
    v1::ExecSyncRequest request;
    request.set_container_id(flags.container);
    for (const auto& word : flags.command)
        request.add_cmd(word);
    request.set_timeout(flags.timeout);
    v1::ExecSyncResponse response;
    grpc::ClientContext context;
    // The call lasts as long as the command: the --timeout flag of exec,
    // not the global call timeout, bounds it.
    check("ExecSync", client.runtime().ExecSync(&context, request, &response), client);
    std::cout << response.stdout() << std::flush;
    std::cerr << response.stderr() << std::flush;
    return response.exit_code();
}

int exec_streaming(Client& client, const ExecFlags& flags) {
    v1::ExecRequest request;
    request.set_container_id(flags.container);
    for (const auto& word : flags.command)
        request.add_cmd(word);
    request.set_tty(flags.tty);
    request.set_stdin(flags.interactive);
    request.set_stdout(true);
    request.set_stderr(!flags.tty);
    v1::ExecResponse response;
    check("Exec", client.runtime().Exec(client.context().get(), request, &response), client);
    return run_session(response.url(), flags.interactive, flags.tty, flags.transport);
}

void add_exec_command(CLI::App& app, const ClientOptions& options) {
    auto flags = std::make_shared<ExecFlags>();
    auto* exec = app.add_subcommand("exec", "Run a command in a running container");
    exec->add_option("CONTAINER-ID", flags->container, "container id (or unique prefix)")
        ->required();
    exec->add_option("COMMAND", flags->command, "the command and its arguments")->required();
    exec->add_flag("-i,--interactive", flags->interactive, "keep stdin open");
    exec->add_flag("-t,--tty", flags->tty, "allocate a terminal");
    exec->add_flag("-s,--sync", flags->sync, "run with ExecSync (no streaming)");
    exec->add_option("--timeout", flags->timeout, "ExecSync: seconds before the command is killed");
    exec->add_flag("-e,--ignore-errors", flags->ignore_errors,
                   "exit 0 even when the command fails");
    exec->add_option("-r,--transport", flags->transport, "spdy (default) or websocket");
    exec->positionals_at_end();
    exec->callback([&options, flags] {
        Client client(options);
        const int status = flags->sync ? exec_sync(client, *flags) : exec_streaming(client, *flags);
        if (status != 0 && !flags->ignore_errors)
            throw ExitWithStatus(status);
    });
}

void add_attach_command(CLI::App& app, const ClientOptions& options) {
    auto container = std::make_shared<std::string>();
    auto interactive = std::make_shared<bool>(false);
    auto tty = std::make_shared<bool>(false);
    auto transport = std::make_shared<std::string>("spdy");
    auto* attach = app.add_subcommand("attach", "Attach to a running container");
    attach->add_option("CONTAINER-ID", *container, "container id (or unique prefix)")->required();
    attach->add_flag("-i,--stdin", *interactive, "send stdin to the container");
    attach->add_flag("-t,--tty", *tty, "the container has a terminal");
    attach->add_option("-r,--transport", *transport, "spdy (default) or websocket");
    attach->callback([&options, container, interactive, tty, transport] {
        Client client(options);
        v1::AttachRequest request;
        request.set_container_id(*container);
        request.set_stdin(*interactive);
        request.set_tty(*tty);
        request.set_stdout(true);
        request.set_stderr(!*tty);
        v1::AttachResponse response;
        check("Attach", client.runtime().Attach(client.context().get(), request, &response),
              client);
        const int status = run_session(response.url(), *interactive, *tty, *transport);
        if (status != 0)
            throw ExitWithStatus(status);
    });
}

struct PortMapping {
    std::uint16_t local = 0;
    std::uint16_t remote = 0;
};

std::uint16_t parse_port(const std::string& text) {
    try {
        std::size_t used = 0;
        const int port = std::stoi(text, &used);
        if (used == text.size() && port > 0 && port <= 65535)
            return static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
    }
    throw CommandFailed("not a port: " + text);
}

PortMapping parse_mapping(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) {
        const auto port = parse_port(text);
        return {port, port};
    }
    return {parse_port(text.substr(0, colon)), parse_port(text.substr(colon + 1))};
}

int listen_on(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, 16) != 0) {
        const std::string reason = std::strerror(errno);
        if (fd >= 0)
            ::close(fd);
        throw CommandFailed("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + reason);
    }
    return fd;
}

std::string port_forward_url(Client& client, const std::string& pod,
                             const std::vector<PortMapping>& mappings) {
    v1::PortForwardRequest request;
    request.set_pod_sandbox_id(pod);
    for (const auto& mapping : mappings)
        request.add_port(mapping.remote);
    v1::PortForwardResponse response;
    check("PortForward", client.runtime().PortForward(client.context().get(), request, &response),
          client);
    return response.url();
}

void add_port_forward_command(CLI::App& app, const ClientOptions& options) {
    auto pod = std::make_shared<std::string>();
    auto ports = std::make_shared<std::vector<std::string>>();
    auto transport = std::make_shared<std::string>("spdy");
    auto* forward = app.add_subcommand("port-forward", "Forward local ports to a pod");
    forward->add_option("POD-ID", *pod, "pod sandbox id (or unique prefix)")->required();
    forward->add_option("PORTS", *ports, "[LOCAL:]REMOTE ...")->required();
    forward->add_option("-r,--transport", *transport, "spdy (default) or websocket");
    forward->callback([&options, pod, ports, transport] {
        std::vector<PortMapping> mappings;
        for (const auto& text : *ports)
            mappings.push_back(parse_mapping(text));
        const auto settings = stream_options(*transport);
        Client client(options);
        std::unique_ptr<stream::PortForwardSession> session;
        if (!settings.websocket) {
            try {
                session = std::make_unique<stream::PortForwardSession>(
                    port_forward_url(client, *pod, mappings), settings);
            } catch (const stream::HttpUpgradeError& error) {
                throw CommandFailed(error.what());
            }
        }
        std::vector<std::thread> listeners;
        for (const auto& mapping : mappings) {
            const int listener = listen_on(mapping.local);
            std::cout << "Forwarding from 127.0.0.1:" << mapping.local << " -> " << mapping.remote
                      << std::endl;
            listeners.emplace_back([&, listener, mapping] {
                for (;;) {
                    const int connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
                    if (connection < 0)
                        continue;
                    std::cout << "Handling connection for " << mapping.local << std::endl;
                    std::thread([&, connection, mapping] {
                        std::string error;
                        try {
                            error = session ? session->forward(connection, mapping.remote)
                                            : stream::forward_over_websocket(
                                                  port_forward_url(client, *pod, {mapping}),
                                                  connection, mapping.remote, settings);
                        } catch (const std::exception& failure) {
                            error = failure.what();
                        }
                        if (!error.empty())
                            std::cerr << "error: " << error << std::endl;
                    }).detach();
                }
            });
        }
        // Until interrupted, or until the SPDY session ends.
        for (;;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            if (session && session->closed())
                throw CommandFailed("the port-forward session ended");
        }
    });
}

}  // namespace

void add_stream_commands(CLI::App& app, const ClientOptions& options) {
    add_exec_command(app, options);
    add_attach_command(app, options);
    add_port_forward_command(app, options);
}

}  // namespace berth::ctl
