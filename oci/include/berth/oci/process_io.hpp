// A live stdio connection to a process in a container, as the streaming
// server serves it: a command started by Exec, or the container's own process
// reached by Attach. Whatever the runtime (runc through a pipe or pty, a shim's
// fifos), the streaming code sees this one shape.
//
// Threads: one thread reads output, another writes input, a third may resize
// or cancel; each method is safe to call while the others block.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::oci {

enum class OutputStream { Stdout, Stderr };

struct OutputChunk {
    OutputStream stream = OutputStream::Stdout;
    std::string data;
};

struct ExecOptions {
    std::vector<std::string> command;
    bool tty = false;
    bool stdin = false;
    bool stdout = true;
    bool stderr = true;  // false with a tty: the terminal carries both
};

struct AttachOptions {
    bool stdin = false;
    bool tty = false;
    // The container's stdin closes when this client's input ends (CRI
    // stdin_once): the session half-closes its connection to the monitor.
    bool stdin_once = false;
};

class ProcessIo {
public:
    virtual ~ProcessIo() = default;

    // Blocks until output arrives. nullopt once the output has ended: the
    // command's streams closed, the container exited, or cancel() was called.
    virtual std::optional<OutputChunk> read_output() = 0;
    // Blocks while the process does not take input; false once input cannot
    // be delivered any more (none asked for, closed, process gone).
    virtual bool write_input(std::string_view data) = 0;
    // The client's input ended: the process sees end of file (a terminal
    // gets ^D, as typing it would send).
    virtual void close_input() = 0;
    virtual void resize(std::uint16_t width, std::uint16_t height) = 0;
    // Exec: waits for the command to end and returns its exit code.
    // Attach: nullopt at once, the container goes on without the client.
    virtual std::optional<int> wait() = 0;
    // Ends the session from any thread: an exec'd command is killed, an
    // attach detaches. Blocked calls return.
    virtual void cancel() = 0;
};

}  // namespace berth::oci
