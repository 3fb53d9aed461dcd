#include "streaming/remote_command.hpp"

#include <atomic>
#include <thread>

#include <spdlog/spdlog.h>

namespace berth::daemon::streaming {

namespace {

constexpr std::size_t kInputChunk = 32 * 1024;

std::string outcome_content(const RemoteCommandStreams& streams, const StreamRequest& request,
                            std::optional<int> exit_code) {
    const bool failed = exit_code && *exit_code != 0;
    if (streams.json_status()) {
        return failed ? stream::exit_code_status_json(*exit_code, describe_command(request.command))
                      : stream::success_status_json();
    }
    // Before v4 only a message can say it, and an empty stream means success.
    return failed ? "command terminated with non-zero exit code: error executing command [" +
                        describe_command(request.command) + "], exit code " +
                        std::to_string(*exit_code)
                  : std::string();
}

}  // namespace

std::string describe_command(const std::vector<std::string>& command) {
    std::string text;
    for (const auto& word : command)
        text += (text.empty() ? "" : " ") + word;
    return text;
}

void run_remote_command(oci::ProcessIo& process, RemoteCommandStreams& streams,
                        const StreamRequest& request) {
    std::atomic<bool> finished{false};

    std::thread input;
    if (streams.has_stdin()) {
        input = std::thread([&] {
            char buffer[kInputChunk];
            for (;;) {
                const std::size_t got = streams.read_stdin(buffer, sizeof buffer);
                if (got == 0) {
                    if (!finished)
                        process.close_input();
                    return;
                }
                if (!process.write_input(std::string_view(buffer, got)))
                    return;  // the process takes no more input; output goes on
            }
        });
    }
    std::thread resizes;
    if (request.tty) {
        resizes = std::thread([&] {
            while (const auto size = streams.next_resize())
                process.resize(size->width, size->height);
        });
    }
    // A client that goes away ends the session: the command is killed, an
    // attach detaches.
    std::thread watcher([&] {
        streams.wait_closed();
        if (!finished)
            process.cancel();
    });

    bool client_gone = false;
    while (const auto chunk = process.read_output()) {
        if (!streams.write_output(chunk->stream, chunk->data)) {
            client_gone = true;
            process.cancel();
            break;
        }
    }
    const std::optional<int> exit_code = process.wait();
    finished = true;
    if (!client_gone) {
        streams.close_outputs();
        streams.write_status(outcome_content(streams, request, exit_code));
    }
    if (exit_code) {
        spdlog::debug("exec in {} ended with {}: {}", request.container_id, *exit_code,
                      describe_command(request.command));
    }
    streams.shutdown();
    process.cancel();  // unblocks an input write still waiting on the process
    watcher.join();
    if (resizes.joinable())
        resizes.join();
    if (input.joinable())
        input.join();
}

}  // namespace berth::daemon::streaming
