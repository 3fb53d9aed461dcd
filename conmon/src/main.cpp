// berth-conmon: the per-container monitor started by berthd. It links nothing
// of Berth and is linked statically so that each running container costs
// well under a MiB of memory for its monitor.
#include "monitor.hpp"
#include "options.hpp"
#include "process_setup.hpp"
#include "sync_pipe.hpp"

int main(int argc, char** argv) {
    using namespace berth::conmon;
    std::string error;
    Options options;
    if (!parse_options(argc, argv, options, error)) {
        if (options.sync_fd >= 0) {
            SyncPipe(options.sync_fd).report_error(error);
        }
        return 1;
    }
    mark_inherited_fds_cloexec();
    if (!become_monitor(options, error)) {
        SyncPipe(options.sync_fd).report_error(error);
        return 1;
    }
    return run_monitor(options);
}
